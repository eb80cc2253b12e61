"""Makes the recorded input/expected pairs that the handout's public Seq2Seq checks compare with.

Run by the instructor's `grade handout` (never shipped): the reference model, seeded weights
and inputs in, its logits and attention weights out, saved as plain tensors
(torch.save, read back with weights_only=True). The handout then holds numbers, not code.
"""

from __future__ import annotations

import torch

from attention_reference import encoder_decoder as ref
from grader.kit.strategies import Seq2SeqInputs, seeded

CASES = (
    Seq2SeqInputs(batch=2, src_len=4, tgt_len=3, src_vocab=7, tgt_vocab=6, embed_dim=3, hidden_dim=5,
                  attention_dim=4, seed=3),
    Seq2SeqInputs(batch=3, src_len=5, tgt_len=4, src_vocab=5, tgt_vocab=7, embed_dim=4, hidden_dim=3,
                  attention_dim=2, seed=17),
    Seq2SeqInputs(batch=2, src_len=1, tgt_len=2, src_vocab=3, tgt_vocab=4, embed_dim=2, hidden_dim=4,
                  attention_dim=3, seed=29),
)


def record() -> dict:
    """{"cases": [{"sizes", "state", "src", "src_mask", "tgt_in", "logits", "weights"}, ...]}"""
    cases = []
    for inputs in CASES:
        with seeded(inputs.seed):
            model = ref.Seq2Seq(*inputs.sizes).to(torch.float64)
        src, mask, tgt_in = inputs.tensors()
        with torch.no_grad():
            logits, weights = model(src, mask, tgt_in)
        cases.append({"sizes": torch.tensor(inputs.sizes), "state": dict(model.state_dict()), "src": src,
                      "src_mask": mask, "tgt_in": tgt_in, "logits": logits, "weights": weights,
                      "other_src": inputs.tensors(padding="other")[0]})
    return {"cases": cases}
