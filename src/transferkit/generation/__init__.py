"""Language-model transfer: adapt a pretrained causal LM (bundled SmolLM2-135M or any ``hf:`` causal LM) to a
domain corpus (``--task causal-lm``) or to prompt -> response pairs (``--task seq2seq-pairs``), and generate.

The pieces, bottom up: `lm` loads the base model and its tokenizer, `corpus` reads texts and pairs, `tokens`
packs texts into blocks and masks prompts out of the loss, `module` trains on the Lightning engine, `scoring`
measures perplexity / exact match / ROUGE-L, `sampling` generates, `folder` saves and loads adapters, `workflow`
runs a fit into a run folder and `report` writes its HTML page.
"""
