"""Reference solutions, one module per exercise, exporting exactly the contract's names.

- ``attention_reference.simple_attention``: 00_simple_attention (NumPy only).
- ``attention_reference.softmax``: 01_softmax.
- ``attention_reference.multihead``: 02_multihead, plus the pure ``multihead_attention``
  function the grader uses to compute float64 oracles.
- ``attention_reference.encoder_decoder``: 03_encoder_decoder (additive attention).

The grader runs these in its own process, never in the student's sandbox.
Submodules are not imported here, so the NumPy reference never pulls in torch.
"""
