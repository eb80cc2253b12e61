"""Checks for 03_encoder_decoder, part 2: the sequence-to-sequence model (Encoder, Decoder, Seq2Seq).

The model is checked against the reference with the reference's weights loaded
into it, for properties any correct model has (padding changes nothing, the
decoder cannot see the future), and by training it: the grader runs the
training loop itself (loss, gradients of the logits, Adam) and asks the
submission only for forward passes and parameter gradients, so a model that
"learns" has learned through its own forward and backward.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from grader import kit
from grader.kit import CheckFailure, Curve, Grad, compare, diagnose
from grader.kit.strategies import Seq2SeqInputs, current_device, generator, placed, randn, seeded, seq2seq_inputs
from attention_reference import encoder_decoder as ref
from attention_reference.mistakes import seq2seq as mistakes

MODEL = "Seq2Seq"
NAMES = ("logits", "weights")
# Each example runs a whole model (a Python loop over the target steps) in the submission's
# process, several round trips each; the mistakes these checks catch show on the first few.
MODEL_EXAMPLES = settings(max_examples=12)
HINT = ("Follow the step in the README on a batch of one: print the state, the context and the logits "
        "of step 0, and compare the shapes with the table there.")


def model_of(inputs: Seq2SeqInputs, dtype: torch.dtype = torch.float64) -> ref.Seq2Seq:
    """The reference model for ``inputs``, initialised from its seed: a fresh one (to take gradients of)."""
    with seeded(inputs.seed):
        return ref.Seq2Seq(*inputs.sizes).to(dtype)


@functools.lru_cache(maxsize=64)
def shared_model(inputs: Seq2SeqInputs, dtype: torch.dtype = torch.float64) -> ref.Seq2Seq:
    """:func:`model_of`, made once per bundle: only read (its weights, forward passes without gradients),
    never trained or given gradients. A check makes the model of its example several times."""
    return model_of(inputs, dtype)


def build(student, inputs: Seq2SeqInputs, dtype: torch.dtype = torch.float64, class_name: str = MODEL):
    """The student's model (or Encoder) with the reference's weights loaded into it."""
    model = shared_model(inputs, dtype)
    if class_name == "Encoder":
        args, state = (inputs.src_vocab, inputs.embed_dim, inputs.hidden_dim), model.encoder.state_dict()
    else:
        args, state = inputs.sizes, model.state_dict()
    return kit.build(student, class_name, *args, state=state, dtype=dtype, layout=f"{class_name}{args}")


def reference_output(inputs: Seq2SeqInputs, padding: str = "zeros"):
    """The reference's (logits, weights) on ``inputs``: computed once per bundle, padding and device (every
    reply of the model is checked against it). Never change them."""
    def compute():
        with torch.no_grad():
            return shared_model(inputs)(*inputs.tensors(padding))
    return kit.remembered(compute, key=("seq2seq_output", inputs, padding))


def expect_pair(value, inputs: Seq2SeqInputs) -> tuple[torch.Tensor, torch.Tensor]:
    return kit.expect_tensors(value, reference_output(inputs), names=NAMES, what=f"{MODEL}.forward")


def diagnosis_of(got, inputs: Seq2SeqInputs, tensors: tuple | None = None) -> None:
    """Record the submission's (logits, weights) on ``tensors`` (default: the inputs') for the diagnosis of
    the whole submission; each known mistake reruns the reference model with its switches."""
    model = shared_model(inputs)
    src, mask, tgt_in = tensors or inputs.tensors()
    with torch.no_grad():
        right = model(src, mask, tgt_in)
    if not all(isinstance(g, torch.Tensor) and g.shape == r.shape for g, r in zip(got, right)):
        return

    def compute(switches):
        with torch.no_grad():
            return mistakes.compute(model, src, mask, tgt_in, **switches)

    diagnose.observe(got, exact=right, allowed=[compare.allowed_error(r, r) for r in right], compute=compute,
                     bank=mistakes.MISTAKES)


@pytest.mark.points(1)
def test_model_constructor(student):
    """Seq2Seq: submodules named and sized as the README says"""
    inputs = Seq2SeqInputs(batch=1, src_len=1, tgt_len=1, src_vocab=11, tgt_vocab=13, embed_dim=4,
                           hidden_dim=6, attention_dim=5, seed=0)
    module = student.new(MODEL, *inputs.sizes)
    kit.expect_parameters(module, model_of(inputs).state_dict(), what=f"{MODEL}{inputs.sizes}")


MSG_OUTPUTS_AT_PADDING = ("Your encoder's outputs keep the GRU's values at padding positions; set them to 0 "
                          "(outputs * src_mask[..., None]).")
MSG_FINAL_AFTER_PADDING = ("Your final state is the output at the last position, padding included; take each "
                           "row's last real token.")


@pytest.mark.points(2)
@MODEL_EXAMPLES
@given(inputs=seq2seq_inputs())
def test_encoder_matches_reference(student, inputs):
    """Encoder: outputs, and the final state at the last real token"""
    encoder = build(student, inputs, class_name="Encoder")
    src, mask, _ = inputs.tensors()
    got = compare.expect_tuple(encoder(src, mask), ("outputs", "final"), what="Encoder.forward")
    with torch.no_grad():
        reference = shared_model(inputs).encoder
        right = reference(src, mask)
        raw = reference.rnn(reference.embedding(src))[0]               # (B, S, H), padding not zeroed
    known = {"outputs": (raw, MSG_OUTPUTS_AT_PADDING), "final": (raw[:, -1], MSG_FINAL_AFTER_PADDING)}
    for value, exact, name in zip(got, right, ("outputs", "final")):
        compare.expect_tensor(value, name=name, like=exact)
        mistake, message = known[name]
        allowed = compare.allowed_error(exact, exact)

        def diagnosis(wrong, mistake=mistake, message=message, allowed=allowed):
            # Named only when the mistake explains the answer and the input can tell them apart.
            if compare.matches(wrong, mistake, allowed) and not compare.matches(exact, mistake, allowed):
                return message
            return None

        compare.assert_close(value, oracle=exact, ref=exact, name=f"encoder {name}", diagnose=diagnosis,
                             hint="Run the GRU over the whole batch, then pick row b's output at "
                                  "src_mask[b].sum() - 1.")


@pytest.mark.points(3)
@MODEL_EXAMPLES
@given(inputs=seq2seq_inputs())
def test_model_matches_reference(student, inputs):
    """Seq2Seq: logits and attention weights match the reference"""
    model = build(student, inputs)
    got = expect_pair(model(*inputs.tensors()), inputs)
    right = reference_output(inputs)
    diagnosis_of(got, inputs)
    for index in (1, 0):
        compare.assert_close(got[index], oracle=right[index], ref=right[index], name=NAMES[index], hint=HINT)


@pytest.mark.points(2)
@MODEL_EXAMPLES
@given(inputs=seq2seq_inputs())
def test_padding_changes_nothing(student, inputs):
    """Padding never changes an output; attention on padding is 0"""
    model = build(student, inputs)
    src, mask, tgt_in = inputs.tensors()
    logits, weights = expect_pair(model(src, mask, tgt_in), inputs)
    masked = ~mask[:, None, :].expand_as(weights)
    if bool((weights[masked] != 0).any()):
        b, t, s = (int(i) for i in torch.nonzero(masked & (weights != 0))[0])
        raise CheckFailure(
            f"The decoder's attention gives weight {float(weights[b, t, s]):.3g} to padding position {s} "
            f"of row {b} at step {t}; padding must get exactly 0.",
            diagnosis=diagnosis_of((logits, weights), inputs),
            hint="Pass src_mask to the attention at every decoder step.")
    sums = weights.sum(dim=-1)
    if not torch.allclose(sums, torch.ones_like(sums), atol=1e-9, rtol=0):
        b, t = (int(i) for i in torch.nonzero((sums - 1).abs() > 1e-9)[0])
        raise CheckFailure(f"The attention weights of row {b} at step {t} sum to {float(sums[b, t]):.6g} "
                                  "over the real tokens; they must sum to 1.")
    other = model(*inputs.tensors(padding="other"))
    other_logits, other_weights = expect_pair(other, inputs)
    for got, first, name in ((other_logits, logits, "logits"), (other_weights, weights, "weights")):
        allowed = compare.allowed_error(first, first)
        m = compare.mismatch(got, first, allowed, name=name)
        if m is not None:
            raise CheckFailure(
                f"Changing only the padding tokens of the source changed the {name}.", mismatch=m,
                diagnosis=diagnosis_of((logits, weights), inputs),
                hint="Padding must never reach an output: the encoder's final state comes from the last "
                     "real token, and the attention masks padding out.")


@pytest.mark.points(2)
@MODEL_EXAMPLES
@given(inputs=seq2seq_inputs().filter(lambda i: i.tgt_len >= 2), step=st.integers(0, 2))
def test_teacher_forcing_is_causal(student, inputs, step):
    """Teacher forcing: logits at step t ignore later target tokens"""
    step = min(step, inputs.tgt_len - 2)
    model = build(student, inputs)
    src, mask, tgt_in = inputs.tensors()
    logits, weights = expect_pair(model(src, mask, tgt_in), inputs)
    changed = tgt_in.clone()
    changed[:, step + 1:] = (changed[:, step + 1:] + 1) % inputs.tgt_vocab
    later = expect_pair(model(src, mask, changed), inputs)
    allowed = compare.allowed_error(logits[:, :step + 1], logits[:, :step + 1])
    m = compare.mismatch(later[0][:, :step + 1], logits[:, :step + 1], allowed, name="logits")
    if m is not None:
        steps = "step 0" if step == 0 else f"steps 0 to {step}"
        # Either answer may be the one that shows the mistake (on the first, tgt_in[:, t + 1] can
        # happen to equal tgt_in[:, t]).
        diagnosis = diagnosis_of((logits, weights), inputs) or diagnosis_of(later, inputs, (src, mask, changed))
        raise CheckFailure(
            f"Changing the target tokens after step {step} changed the logits of {steps}: the decoder "
            "sees tokens it is meant to predict.", mismatch=m, diagnosis=diagnosis,
            hint="At step t the decoder may read tgt_in[:, t] and earlier, never later.")


@pytest.mark.points(2)
@MODEL_EXAMPLES
@given(inputs=seq2seq_inputs(), grad_seed=st.integers(0, 1000))
def test_model_gradients(student, inputs, grad_seed):
    """Seq2Seq: gradients of every parameter match the reference"""
    model = build(student, inputs)
    src, mask, tgt_in = inputs.tensors()
    d_logits = randn((inputs.batch, inputs.tgt_len, inputs.tgt_vocab), seed=grad_seed)
    reply = model.run(src, mask, tgt_in, grad=Grad(grad_outputs=(d_logits, None), params=True))
    got = expect_pair(reply.value, inputs)
    right = reference_output(inputs)
    for index in (1, 0):
        compare.assert_close(got[index], oracle=right[index], ref=right[index], name=NAMES[index],
                             diagnose=lambda _: diagnosis_of(got, inputs), hint=HINT)
    kit.require_graph(reply, summary="No gradient reaches the logits: they do not require grad.")
    reference = model_of(inputs)
    logits, _ = reference(src, mask, tgt_in)
    kit.backward(logits, d_logits)
    kit.check_gradients(reply, {name: parameter.grad for name, parameter in reference.named_parameters()})


# -- learning: the grader trains the submission's model on a toy task ----------------------------

PAD, BOS, EOS, FIRST_SYMBOL = 0, 1, 2, 3


@dataclass(frozen=True)
class ReverseTask:
    """Reverse a sequence of 1 to ``max_len`` symbols; the target ends with EOS."""

    symbols: int = 6
    max_len: int = 5
    embed_dim: int = 16
    hidden_dim: int = 32
    attention_dim: int = 32
    batch: int = 64
    steps: int = 80
    learning_rate: float = 0.02
    held_out: int = 256
    pass_accuracy: float = 0.9
    seed: int = 0

    @property
    def vocab(self) -> int:
        return FIRST_SYMBOL + self.symbols

    @placed
    def batch_of(self, n: int, g: torch.Generator):
        """src, src_mask, tgt_in, tgt_out, tgt_mask for ``n`` random sequences."""
        lengths = torch.randint(1, self.max_len + 1, (n,), generator=g)
        src = torch.randint(FIRST_SYMBOL, self.vocab, (n, self.max_len), generator=g)
        src_mask = torch.arange(self.max_len)[None, :] < lengths[:, None]
        src = src.masked_fill(~src_mask, PAD)
        # Reversed: position j of the target is source position length - 1 - j; then EOS.
        steps = torch.arange(self.max_len + 1)[None, :]
        index = (lengths[:, None] - 1 - steps).clamp(min=0)
        tgt_out = torch.gather(src, 1, index.clamp(max=self.max_len - 1))
        tgt_out = torch.where(steps < lengths[:, None], tgt_out, torch.full_like(tgt_out, PAD))
        tgt_out = torch.where(steps == lengths[:, None], torch.full_like(tgt_out, EOS), tgt_out)
        tgt_in = torch.cat([torch.full((n, 1), BOS), tgt_out[:, :-1]], dim=1)
        tgt_in = tgt_in.masked_fill(tgt_in == EOS, PAD)
        tgt_mask = steps <= lengths[:, None]
        return src, src_mask, tgt_in, tgt_out, tgt_mask


def _logits(value, task: ReverseTask, n: int) -> torch.Tensor:
    logits, _ = compare.expect_tuple(value, NAMES, what=f"{MODEL}.forward")
    like = torch.zeros(n, task.max_len + 1, task.vocab, device=current_device())
    return compare.expect_tensor(logits, name="logits", like=like)


def train(student, task: ReverseTask) -> tuple[list[float], float]:
    """Train the submission's model on ``task``; return the losses and the held-out accuracy.

    The weights and the optimiser live in the grader: every step sends the current
    weights with a request for logits, computes the loss and its gradient here, asks
    for the parameter gradients of that very forward pass (the child kept its graph),
    and takes an Adam step: two round trips a step, one forward pass.
    """
    sizes = (task.vocab, task.vocab, task.embed_dim, task.hidden_dim, task.attention_dim)
    with seeded(task.seed):
        initial = ref.Seq2Seq(*sizes).state_dict()
    module = student.new(MODEL, *sizes)
    kit.expect_parameters(module, initial, what=f"{MODEL}{sizes}")
    weights = {n: t.detach().clone() for n, t in initial.items()}
    optimiser = kit.Adam(weights, lr=task.learning_rate)
    g = generator(task.seed + 1)
    losses = []
    for _ in range(task.steps):
        src, src_mask, tgt_in, tgt_out, tgt_mask = task.batch_of(task.batch, g)
        reply = module.run(src, src_mask, tgt_in, state=weights, keep_graph=True)
        logits = _logits(reply.value, task, task.batch).detach().requires_grad_(True)
        loss = torch.nn.functional.cross_entropy(logits[tgt_mask], tgt_out[tgt_mask])
        loss.backward()
        reply = module.backward(logits.grad, None)
        kit.require_graph(reply, summary="Training stopped at once: no gradient reaches the logits (they do "
                                         "not require grad), so the model cannot learn.")
        grads = {}
        for name, weight in weights.items():
            grad = reply.param_grads.get(name)
            if not isinstance(grad, torch.Tensor) or grad.shape != weight.shape:
                raise CheckFailure(f"Training stopped: no usable gradient for {name}.",
                                          hint="Every parameter must take part in forward, differentiably.")
            grads[name] = grad.to(device=weight.device, dtype=weight.dtype)
        optimiser.step(grads)
        losses.append(float(loss))
    src, src_mask, tgt_in, tgt_out, tgt_mask = task.batch_of(task.held_out, generator(task.seed + 2))
    predicted = _logits(module.run(src, src_mask, tgt_in, state=weights).value, task, task.held_out).argmax(-1)
    return losses, float((predicted[tgt_mask] == tgt_out[tgt_mask]).float().mean())


@pytest.mark.points(3)
def test_learns_to_reverse(student):
    """Learns to reverse short sequences when the grader trains it"""
    task = ReverseTask()
    losses, accuracy = train(student, task)
    student.show(curve=Curve(title="Training loss of your model (cross-entropy per target token)",
                                     values=tuple(losses)))
    student.show(note=f"Trained for {task.steps} steps, the loss went from {losses[0]:.2f} to {losses[-1]:.2f}, "
                      f"and your model then predicted {accuracy:.1%} of the next tokens of {task.held_out} "
                      "new sequences right.")
    if not accuracy >= task.pass_accuracy:  # NaN fails too
        raise CheckFailure(
            f"After {task.steps} training steps your model predicts {accuracy:.0%} of the next tokens of "
            f"{task.held_out} new sequences right; {task.pass_accuracy:.0%} is needed (the reference "
            "gets over 95%).",
            details=f"Training loss: {losses[0]:.3f} at the first step, {losses[-1]:.3f} at the last.",
            hint="If the model matches the reference it learns too: fix the other checks first.")
