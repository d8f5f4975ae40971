#!/usr/bin/python3
"""The PyTorch yardstick with a held-out score: runs ../shared/anchors/torch_classifier_train.py
unchanged and, after it, writes the test part's probabilities of its best epoch (by validation
balanced accuracy, its own rule) in skingan's predictions.csv format, for `skingan metrics classify`.

  /usr/bin/python3 tools/scripts/torch_classifier_test_predictions.py --test-out PRED.csv \
      DATA_DIR --split split.json [the anchor's other flags]

The anchor keeps no weights, so this wraps its `evaluate`: the model is copied whenever an epoch's
validation balanced accuracy beats every earlier one (the anchor's `>`), which is the epoch it reports.
"""
import importlib.util
import json
import os
import sys

import torch
import torch.nn.functional as F

here = os.path.dirname(os.path.abspath(__file__))
anchor_path = os.path.join(here, "..", "..", "..", "shared", "anchors", "torch_classifier_train.py")
spec = importlib.util.spec_from_file_location("anchor", os.environ.get("SKINGAN_TORCH_ANCHOR", anchor_path))
anchor = importlib.util.module_from_spec(spec)
spec.loader.exec_module(anchor)

argv = sys.argv[1:]
if "--test-out" not in argv or argv.index("--test-out") + 1 >= len(argv):
    sys.exit("usage: torch_classifier_test_predictions.py --test-out PRED.csv DATA --split split.json [...]")
i = argv.index("--test-out")
test_out = argv[i + 1]
sys.argv = [sys.argv[0]] + argv[:i] + argv[i + 2:]

best = {"bal": None, "state": None, "model": None}
evaluate = anchor.evaluate


def keeping_best(model, x, y):
    acc, bal, rec = evaluate(model, x, y)
    if best["bal"] is None or bal > best["bal"]:
        best.update(bal=bal, model=model, state={k: v.detach().clone() for k, v in model.state_dict().items()})
    return acc, bal, rec


anchor.evaluate = keeping_best
anchor.main()

args = sys.argv[1:]
data = args[0]
split = json.load(open(args[args.index("--split") + 1]))["ids"]
size = int(args[args.index("--size") + 1]) if "--size" in args else 64
model = best["model"]
model.load_state_dict(best["state"])
model.eval()
xs, _ = anchor.load(data, split["test"], size)
with torch.no_grad():
    prob = torch.cat([F.softmax(model(anchor.to_input(xs[j:j + 256].float() / 255)), 1)
                      for j in range(0, len(xs), 256)])
with open(test_out, "w") as f:
    f.write("image," + ",".join(anchor.CLASSES) + "\n")
    for img, p in zip(split["test"], prob.tolist()):
        f.write(img + "," + ",".join("%.6g" % v for v in p) + "\n")
print(f"wrote {test_out} ({len(split['test'])} test images, best validation balanced accuracy {best['bal']:.4f})")
