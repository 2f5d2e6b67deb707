"""Re-create the shipped backbone ``redist/fm/pretrained/default`` (model card included).

Simulates an unlabelled mixture (labels never read), fits the token standardiser on it,
pre-trains the ``ci`` backbone (dim 32, 2 layers, 4 heads; the CPU budget) with masked particle
modelling (feature MSE + particle-kind cross-entropy), evaluates the pre-training metrics
on an independent held-out sample with a seeded mask (the numbers the test
``tests/test_fm_pretrained.py`` reproduces), measures a small fine-tuning check
(pre-trained vs scratch vs logistic regression at 1000 labels, 2 seeds), and writes
safetensors + ``model_card.json`` + ``MODEL_CARD.md`` with SHA-256 hashes.

Run: ``python examples/fm_make_backbone.py [--steps 800] [--threads 1]`` (about 10-20
minutes on one contended CPU core).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np

from redist.fm.backbone import (
    SIZES,
    evaluate_mpm,
    n_parameters,
    pretrain_with_head,
    save_backbone,
    setup_torch,
)
from redist.fm.baseline import LogisticBaseline
from redist.fm.eta import auc
from redist.fm.heads import finetune, predict
from redist.fm.pipeline import fit_standardizer, pretrain_inputs, sample_tokens
from redist.simulate import SIMULATOR_VERSION, simulate

OUT = Path(__file__).resolve().parents[1] / "redist" / "fm" / "pretrained" / "default"
UNLABELLED_SEED, EVAL_SEED, EVAL_MASK_SEED, EVAL_EVENTS = 20261202, 20261203, 7, 3000


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--n-unlabelled", type=int, default=20000)
    ap.add_argument("--steps", type=int, default=800)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--size", default="ci")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--check-steps", type=int, default=150, help="fine-tuning steps of the check")
    ap.add_argument("--n-check", type=int, default=6000, help="events of the check pool, test")
    ap.add_argument("--out", default=str(OUT))
    a = ap.parse_args()
    setup_torch(a.threads)
    t0 = time.perf_counter()
    unl = simulate(a.n_unlabelled, kind="mixed", signal_fraction=0.3, seed=UNLABELLED_SEED)
    std = fit_standardizer(unl)
    inp = pretrain_inputs(unl, std)
    enc, hist, head = pretrain_with_head(
        inp["tokens"],
        inp["pad"],
        SIZES[a.size],
        kinds=inp["kinds"],
        steps=a.steps,
        batch_size=a.batch_size,
        seed=0,
    )
    ev = simulate(EVAL_EVENTS, kind="mixed", signal_fraction=0.3, seed=EVAL_SEED)
    ein = pretrain_inputs(ev, std)
    mpm = evaluate_mpm(enc, head, ein["tokens"], ein["pad"], ein["kinds"], seed=EVAL_MASK_SEED)
    # fine-tuning check (not a study: 2 seeds, 1000 labels; see examples/fm_data_efficiency.py)
    pool = simulate(a.n_check, kind="mixed", signal_fraction=0.5, q2_shape="flat", seed=EVAL_SEED + 1)
    pool = pool.select(pool.presel)
    test = simulate(a.n_check, kind="mixed", signal_fraction=0.3, seed=EVAL_SEED + 2)
    test = test.select(test.presel)
    xp, pp = sample_tokens(pool, std)
    xt, pt = sample_tokens(test, std)
    check = []
    for seed in (0, 1):
        rng = np.random.default_rng(seed)
        idx = np.concatenate(
            [rng.choice(np.flatnonzero(pool.label == k), 500, replace=False) for k in (1, 0)]
        )
        row = {"seed": seed, "n_labelled": 1000}
        for arm, bb in (("pretrained", enc), ("scratch", None)):
            m, _ = finetune(xp[idx], pp[idx], pool.label[idx], pool.q2_true[idx], config=enc.cfg, backbone=bb,
                            steps=a.check_steps, seed=seed)  # fmt: skip
            row[f"auc_{arm}"] = auc(predict(m, xt, pt)["logit"], test.label)
        lr = LogisticBaseline.fit(pool.features[idx], pool.label[idx])
        row["auc_logistic"] = auc(lr(test.features), test.label)
        check.append(row)
    card = {
        "name": "default",
        "licence": "MIT (the redist licence); trained only on redist's own toy simulation",
        "data": {
            "simulator": f"redist.simulate {SIMULATOR_VERSION}",
            "kind": "mixed (signal fraction 0.3, backgrounds by cross section incl. peaking modes)",
            "labels": "not read",
            "n_generated": a.n_unlabelled,
            "n_preselected": int(unl.presel.sum()),
            "seed": UNLABELLED_SEED,
            "tune": "DEFAULT_TUNE",
        },
        "objective": hist["objective"],
        "pretraining": hist,
        "metrics": {
            "heldout": {
                "description": (
                    f"{EVAL_EVENTS} events simulate(kind='mixed', signal_fraction=0.3, seed={EVAL_SEED}), "
                    f"preselected; mask 30 % with torch.Generator seed {EVAL_MASK_SEED} (evaluate_mpm)"
                ),
                "sim_seed": EVAL_SEED,
                "mask_seed": EVAL_MASK_SEED,
                "n_events": EVAL_EVENTS,
                **mpm,
            },
            "finetune_check": check,
        },
        "limitations": [
            "toy simulation only; not a Belle II result and not validated on data",
            "small CPU budget (see pretraining.steps); larger backbones need the GPU configuration",
            "fine-tuning check is 2 seeds at one label count; see docs/fm.md for the replicated study",
        ],
        "wall_s": time.perf_counter() - t0,
    }
    out = Path(a.out)
    save_backbone(out, enc, std, card, head=head)
    files = {f: sha256(out / f) for f in ("backbone.safetensors", "mpm_head.safetensors")}
    full = json.loads((out / "model_card.json").read_text())
    full["sha256"] = files
    full["n_parameters"] = n_parameters(enc)
    (out / "model_card.json").write_text(json.dumps(full, indent=2, sort_keys=True) + "\n")
    md = [
        "# redist FM backbone `default`",
        "",
        f"- **Model**: {full['model']}; config {json.dumps(full['config'])};",
        f"  {full['n_parameters']} parameters.",
        f"- **Data**: {card['data']['n_generated']} events of `redist.simulate` {SIMULATOR_VERSION} "
        f"(seed {UNLABELLED_SEED}, {card['data']['n_preselected']} preselected); labels never read.",
        f"- **Objective**: {hist['objective']}.",
        f"- **Steps**: {hist['steps']} x {hist['batch_size']} events, AdamW lr {hist['lr']}, cosine, seed 0.",
        f"- **Held-out metrics** ({card['metrics']['heldout']['description']}): feature MSE "
        f"{mpm['mpm_feature_mse']:.4f} (1.0 = predicting the mean), "
        f"kind accuracy {mpm['kind_accuracy']:.4f}.",
        f"- **Fine-tuning check** (1000 labels, {a.check_steps} steps; AUC on preselected mixed events):",
        *[
            f"  - seed {r['seed']}: pre-trained {r['auc_pretrained']:.4f}, scratch {r['auc_scratch']:.4f}, "
            f"logistic regression {r['auc_logistic']:.4f}"
            for r in check
        ],
        f"- **Licence**: {card['licence']}.",
        "- **Intended use**: reinterpretation studies on the redist toy; not a Belle II result.",
        "- **SHA-256**: " + ", ".join(f"`{k}` {v}" for k, v in files.items()),
        "- **Re-create**: `python examples/fm_make_backbone.py`.",
        "",
    ]
    (out / "MODEL_CARD.md").write_text("\n".join(md))
    print(json.dumps({"metrics": full["metrics"], "sha256": files, "wall_s": card["wall_s"]}, indent=1))


if __name__ == "__main__":
    main()
