"""The built-in profiles (`--profile seed|quick|tuned|smoke`): each one's overrides on top of an architecture's
published settings, by kind of dataset. A profile file (profiles/<name>.json) starts from one of them
(tasks.core.profiles)."""

from __future__ import annotations

PROFILES: dict[str, dict[str, dict]] = {  # overrides on top of PUBLISHED, by kind of dataset
    "seed": {"text": {}, "series": {}},  # the published settings
    "quick": {  # a few minutes per model on 2 CPU cores
        "text": dict(epochs=3, bow_epochs=2),
        "series": dict(epochs=6, steps_per_epoch=60, validation_steps=40),
    },
    "tuned": {  # the same architectures, tuned on the validation splits of the real data (RESULTS.md, 2026-11-28)
        # IMDB: 10x the book's step size overfits after 4-5 epochs; dropout 0.5 before the output and early
        # stopping on val accuracy (the best epoch's weights are kept) make up for it. Best of 4 settings.
        "text": dict(learning_rate=1e-3, dropout=0.5, early_stopping_patience=2, epochs=12),
        # Jena: smaller steps and batches; the 2024 splits shift seasons, so the best epoch comes early (3) and
        # early stopping saves the other 13-17 epochs. Best of 5 settings of jena_conv_gru.
        "series": dict(learning_rate=3e-4, batch_size=32, early_stopping_patience=4),
    },
    "smoke": {  # seconds, for tests: tiny subsets, short windows
        # lr 1e-3: two epochs at the book's 1e-4 learn next to nothing
        "text": dict(epochs=2, max_train_samples=1500, max_test_samples=500, bow_epochs=1, learning_rate=1e-3,
                     tensorboard=False),
        "series": dict(epochs=2, steps_per_epoch=3, validation_steps=2, lookback=288, batch_size=32,
                       tensorboard=False),
    },
}
