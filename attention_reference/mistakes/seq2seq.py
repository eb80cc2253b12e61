"""Known mistakes in the attention encoder-decoder (Seq2Seq), as variants of the reference computation.

``run(mistake, model, src, src_mask, tgt_in)`` recomputes the reference model's
forward pass with that mistake's switches, using the reference model's own
submodules (and so its weights), and returns ``(logits, weights)``.
"""

from __future__ import annotations

import torch

from attention_reference.mistakes import Mistake

MISTAKES = (
    Mistake("final_after_padding",
            "The decoder starts from the encoder's output at the last position, padding included; "
            "it should start from each row's last real token (src_mask.sum(1) - 1).",
            {"final": "last_position"},
            hint="Start from outputs[torch.arange(B), src_mask.sum(1) - 1], each row's last real token."),
    Mistake("final_zeros",
            "The decoder starts from zeros; its first state should be the encoder's final output.",
            {"final": "zeros"},
            hint="Start the decoder from the encoder's final output."),
    Mistake("attend_after_step",
            "The decoder steps the GRU first (with the previous step's context) and then attends with "
            "the new state; at step t it should attend with the state before the step, and feed that "
            "context into the GRU.",
            {"attend": "after"},
            hint='At step t attend with the state before the GRU step, then feed cat([embedded, '
                 'context]) to the GRU.'),
    Mistake("source_mask_ignored",
            "The decoder's attention ignores src_mask: padding positions of the source get weight.",
            {"mask": False},
            hint="Pass src_mask to the decoder's attention at every step."),
    Mistake("gru_input_swapped",
            "The GRU cell's input is cat([context, embedded]); it should be cat([embedded, context]).",
            {"gru_input": "swapped"},
            hint='Feed the GRU cell cat([embedded, context], dim=-1).'),
    Mistake("out_input_swapped",
            "The output layer's input is cat([context, state]); it should be cat([state, context]).",
            {"out_input": "swapped"},
            hint='Feed the output layer cat([state, context], dim=-1).'),
    Mistake("peeks_at_next_token",
            "At step t the decoder reads tgt_in[:, t + 1], the token it is meant to predict; it should "
            "read tgt_in[:, t].",
            {"peek": True},
            hint='At step t embed tgt_in[:, t], never a later token.'),
)


def run(mistake: Mistake, model, src, src_mask, tgt_in):
    return compute(model, src, src_mask, tgt_in, **mistake.switches)


def compute(model, src, src_mask, tgt_in, *, final="last_real", attend="before", mask=True,
            gru_input="embedded_first", out_input="state_first", peek=False):
    """The reference forward pass with switches; the defaults give the right answer.

    Shapes: src (B, S), src_mask (B, S), tgt_in (B, T). Returns logits (B, T, V), weights (B, T, S).
    """
    encoder, decoder = model.encoder, model.decoder
    outputs, _ = encoder.rnn(encoder.embedding(src))                             # (B, S, H)
    if final == "last_position":
        state = outputs[:, -1]
    elif final == "zeros":
        state = torch.zeros_like(outputs[:, 0])
    else:
        state = outputs[torch.arange(src.shape[0]), src_mask.sum(dim=1) - 1]     # (B, H)
    enc = outputs * src_mask[..., None].to(outputs.dtype)
    attention_mask = src_mask if mask else None
    embedded = decoder.embedding(tgt_in)                                         # (B, T, E)
    steps = tgt_in.shape[1]
    logits, weights = [], []
    context = torch.zeros_like(state)
    for t in range(steps):
        token = embedded[:, min(t + 1, steps - 1)] if peek else embedded[:, t]
        if attend == "after":  # Luong's order: step with the previous context, then attend
            state = decoder.rnn(_cat(token, context, gru_input == "swapped"), state)
            context, w = decoder.attention(state, enc, enc, attention_mask)
        else:
            context, w = decoder.attention(state, enc, enc, attention_mask)
            state = decoder.rnn(_cat(token, context, gru_input == "swapped"), state)
        logits.append(decoder.out(_cat(state, context, out_input == "swapped")))
        weights.append(w)
    return torch.stack(logits, dim=1), torch.stack(weights, dim=1)


def _cat(first: torch.Tensor, second: torch.Tensor, swapped: bool) -> torch.Tensor:
    return torch.cat([second, first] if swapped else [first, second], dim=-1)
