"""Writes extra_cases.json: GPT-2 (tiktoken) ids for edge cases and seeded random strings.

Run: python make_extra_cases.py <dir with encoder.json and vocab.bpe> > extra_cases.json
Needs tiktoken (0.14.0 used). The encoding is built from the two local files exactly as
../tokenizer/README.md describes for expected.json (no network).
"""
import json, random, sys
import tiktoken
from tiktoken.load import data_gym_to_mergeable_bpe_ranks

d = sys.argv[1]
ranks = data_gym_to_mergeable_bpe_ranks(vocab_bpe_file=f"{d}/vocab.bpe", encoder_json_file=f"{d}/encoder.json")
enc = tiktoken.Encoding(
    name="gpt2",
    pat_str=r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s""",
    mergeable_ranks=ranks, special_tokens={"<|endoftext|>": 50256}, explicit_n_vocab=50257)

edge = {
    "long_a_1000": "a" * 1000,
    "long_spaces_then_word": " " * 500 + "x",
    "long_bang_300": "!" * 300,
    "long_digits_300": "1234567890" * 30,
    "long_e_acute_200": "\u00e9" * 200,
    "long_mixed_letters": "".join(random.Random(1).choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ\u00e9\u00fc\u00df") for _ in range(600)),
    "long_cjk": "\u4e2d\u6587\u5b57\u7b26" * 100,
    "long_newlines_tabs": "\n\t" * 150 + "end",
    "quote_S_upper": "'S 'T 'LL",
    "quotes_only": "''",
    "contraction_chain": "'ll've're'd'm's't",
    "trailing_quote": "x'",
    "trailing_ws": "a \n",
    "space_newline": " \n",
    "ideographic_space": "\u3000x \u3000 y",
    "nel_and_ls": "a\u0085b\u2028c",
    "python_space_not_unicode": "a\x1cb\x1f c",
    "digits_other_scripts": "\u0663\u0664 \u216b \u00bd x\u00b2",
    "devanagari_marks": "\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e",
    "space_before_mark": "a \u0301b",
    "emoji_modifiers_text": "ok \U0001F44D\U0001F3FD! \U0001F600\U0001F600",
    "crlf_runs": "a\r\n\r\n  b\r\n",
    "spaces_digits": "   123   456   ",
    "nbsp_word": "\u00a0word \u00a0 word",
}

rng = random.Random(20240601)
alphabet = list("abcXYZ   \t\n\n'’.,!?-_0123456789") + ["\u00e9", "\u00df", "\u4e2d", "\u0301", "\U0001F600", "\u00a0", "\u3000", "\u0663", "'s", "'ll", " 't", "<|", "|>"]
fuzz = ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40))) for _ in range(400)]

specials = {
    "eot_twice": "<|endoftext|><|endoftext|>",
    "eot_unclosed": "a <|endoftext| b",
    "eot_at_ends": "<|endoftext|>mid<|endoftext|>",
    "eot_in_word": "x<|endoftext|>'s",
}

out = {
    "tiktoken_version": tiktoken.__version__,
    "edge_cases": [{"name": k, "text": v, "ids": enc.encode_ordinary(v)} for k, v in edge.items()],
    "fuzz_cases": [{"text": t, "ids": enc.encode_ordinary(t)} for t in fuzz],
    "special_cases": [{"name": k, "text": v,
                       "allowed_ids": enc.encode(v, allowed_special={"<|endoftext|>"}),
                       "plain_ids": enc.encode(v, disallowed_special=())} for k, v in specials.items()],
}
# Lossy decode of raw byte strings (errors="replace", what tiktoken's decode does).
byte_cases = ["e080", "ed a080".replace(" ", ""), "f08080", "f4908080", "c0af", "ff", "e4bd", "e4bd41", "80bf", "f09f98", "f09f9880", "20e280", "e2809c"]
out["lossy_decodes"] = [{"bytes_hex": h, "decoded_codepoints": [ord(c) for c in bytes.fromhex(h).decode("utf-8", "replace")]} for h in byte_cases]
json.dump(out, sys.stdout, ensure_ascii=True, indent=1)
