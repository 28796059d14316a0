"""Loads an adapter written by Ember into PEFT on the book's GPTModel (tiny config, book_gpt.py) and
compares PEFT's logits with Ember's. Used by EmberLLMTests' PEFTAdapterTests (skipped without python/peft).

    python check_ember_adapter.py ADAPTER_DIR EMBER_LOGITS_JSON   # {"ids": [[...]], "logits": [...]}
Prints one JSON line {"max_abs_diff": ..., "lora_modules": [...]}; exit status 0 when within 1e-5.
"""
import json
import os
import sys

import torch
from peft import PeftModel

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from book_gpt import base_model  # noqa: E402

adapter_dir, logits_json = sys.argv[1], sys.argv[2]
with open(logits_json) as f:
    ember = json.load(f)
model = PeftModel.from_pretrained(base_model(), adapter_dir).eval()
with torch.no_grad():
    logits = model(torch.tensor(ember["ids"])).flatten()
diff = (logits - torch.tensor(ember["logits"])).abs().max().item()
modules = [n[: -len(".lora_A.default")] for n, _ in model.base_model.model.named_modules() if n.endswith(".lora_A.default")]
print(json.dumps({"max_abs_diff": diff, "lora_modules": modules}))
sys.exit(0 if diff <= 1e-5 else 1)
