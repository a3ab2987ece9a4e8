"""A baseline policy trained on recorded demos, and its closed-loop evaluation.

- `data`: (observation, action chunk) arrays from a dataset file, normalised with its /stats, split by its masks;
  optional observation history and derived hand-to-object offsets (`relative_features`).
- `model`: the chunked MLP, its saved form (policy.json + policy.pt) and loading (torch extra).
- `train`: behaviour cloning on CPU (`robotschool train`).
- `evaluate`: rollouts in the gymnasium env with temporal ensembling, success rate + Wilson CI (`robotschool eval`).
- `metrics`: the Wilson interval (also used by scripts/eval_oracles.py).

Nothing here is imported by `import robotschool`; torch is imported only by the functions that need it.
"""
