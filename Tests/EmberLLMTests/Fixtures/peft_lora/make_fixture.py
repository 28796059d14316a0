"""Writes this folder's PEFT LoRA fixture: `adapter/` (adapter_config.json + adapter_model.safetensors
as `PeftModel.save_pretrained` writes them) for the book's GPTModel (tiny config, see book_gpt.py),
and `expected.json` (the PEFT model's logits, unmerged and after `merge_and_unload`).

    PYTHONHASHSEED=0 python make_fixture.py   # torch + peft (versions recorded in expected.json)

PEFT keeps target_modules as a set, so the hash seed fixes the order it writes them in.
"""
import json
import os
import sys

import peft
import torch
from peft import LoraConfig, get_peft_model

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from book_gpt import CFG, IDS, base_model  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
torch.set_num_threads(1)

model = base_model()
with torch.no_grad():
    base_logits = model(torch.tensor(IDS))
# The book's LoRA targets (every nn.Linear of GPTModel, the classification head included) named the way
# PEFT matches target_modules: a module is targeted when its dotted name ends with ".<entry>".
config = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0,
                    target_modules=["W_query", "W_key", "W_value", "out_proj", "layers.0", "layers.2", "out_head"])
peft_model = get_peft_model(model, config)
# PEFT initialises lora_B to zeros; give every B values so the adapter changes the outputs.
torch.manual_seed(7)
with torch.no_grad():
    for name, p in peft_model.named_parameters():
        if "lora_B" in name:
            p.normal_(0.0, 0.1)
peft_model.eval()
peft_model.save_pretrained(os.path.join(HERE, "adapter"))
os.remove(os.path.join(HERE, "adapter", "README.md"))   # the model card PEFT adds; not part of the format

ids = torch.tensor(IDS)
with torch.no_grad():
    unmerged = peft_model(ids)
    modules = [n[: -len(".lora_A.default")] for n, _ in peft_model.base_model.model.named_modules() if n.endswith(".lora_A.default")]
    merged = peft_model.merge_and_unload()(ids)

expected = {
    "torch_version": torch.__version__,
    "peft_version": peft.__version__,
    "config": CFG,
    "base": "torch.manual_seed(123); GPTModel(CFG); torch.manual_seed(123); out_head = Linear(emb_dim, 2); eval()",
    "lora": {"r": 4, "lora_alpha": 8, "lora_B_init": "torch.manual_seed(7); normal_(0, 0.1) for each lora_B in named_parameters order"},
    "ids": IDS,
    "lora_modules": modules,
    "logits_base": {"shape": list(base_logits.shape), "values": [float(v) for v in base_logits.flatten()]},
    "logits_unmerged": {"shape": list(unmerged.shape), "values": [float(v) for v in unmerged.flatten()]},
    "logits_merged": {"shape": list(merged.shape), "values": [float(v) for v in merged.flatten()]},
}
with open(os.path.join(HERE, "expected.json"), "w") as f:
    json.dump(expected, f, indent=1)
    f.write("\n")
