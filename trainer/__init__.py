"""The bundled GPT trainer (model, training, fine-tuning, evaluation, generation, serving): later issues."""
