"""Tiny models built in code (random weights, a BPE tokenizer trained on the fly).

They make the scorer's code paths (causal and seq2seq, letters and texts) testable in
seconds with no download. Their answers are meaningless; their log-probabilities are real.
"""

from __future__ import annotations

import json
from pathlib import Path

CHAT_TEMPLATE = (
    "{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)


def _corpus() -> list[str]:
    root = Path(__file__).resolve().parents[1] / "examples" / "suites"
    # The three multiple-choice examples, named: a new example must not change every tiny model.
    names = ("capitals", "sentiment", "yesno")
    lines = []
    for f in (root / f"{n}.jsonl" for n in names):
        for line in f.read_text().splitlines():
            obj = json.loads(line)
            lines.append(obj["question"])
            lines.extend(obj["choices"])
    for f in (root / f"{n}.yaml" for n in names):
        lines.extend(f.read_text().splitlines())
    lines += ["Answer:", "Options:", "A. B. C. D.", "Question: Task:"]
    return lines


def build_tokenizer(*, chat_template: bool = True):
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=600,
        special_tokens=["<pad>", "<s>", "</s>", "<unk>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_corpus(), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
    )
    if chat_template:
        fast.chat_template = CHAT_TEMPLATE
    return fast


def tiny_causal(seed: int = 0):
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = build_tokenizer(chat_template=True)
    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        pad_token_id=tokenizer.pad_token_id,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=True,
    )
    model = LlamaForCausalLM(config).eval()
    return model, tokenizer


def tiny_seq2seq(seed: int = 0):
    import torch
    from transformers import T5Config, T5ForConditionalGeneration

    tokenizer = build_tokenizer(chat_template=False)
    torch.manual_seed(seed)
    config = T5Config(
        vocab_size=len(tokenizer),
        d_model=32,
        d_kv=8,
        d_ff=64,
        num_layers=2,
        num_decoder_layers=2,
        num_heads=4,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        decoder_start_token_id=tokenizer.pad_token_id,
    )
    model = T5ForConditionalGeneration(config).eval()
    return model, tokenizer


def save(model, tokenizer, folder: Path) -> Path:
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


class RuleModel:
    """A Scorer built in code from a rule: ``prefers_first(context) -> bool``.

    It gives choice 0 the higher log-probability when the rule holds for the prompt, and the
    last choice otherwise. Deterministic and instant, for tests of searches and statistics.
    """

    def __init__(self, name: str, prefers_first):
        from promptcheck.models.base import ModelIdentity

        self.identity = ModelIdentity(id=name)
        self.prefers_first = prefers_first

    def chat_formatter(self):
        return None

    def score(self, prompts, *, progress=None):
        from promptcheck.models.base import ChoiceScores

        out = []
        for p in prompts:
            k = len(p.continuations)
            best = 0 if self.prefers_first(p.context) else k - 1
            out.append(ChoiceScores(tuple(-0.1 if i == best else -2.0 for i in range(k)), (1,) * k, (1,) * k))
        return out


class WriterModel:
    """A model that writes ``answer(context)`` for every prompt (greedy: the same text every time)."""

    def __init__(self, answer) -> None:
        from promptcheck.models.base import ModelIdentity

        self.identity = ModelIdentity(id="writer")
        self.answer = answer
        self.requests: list = []

    def chat_formatter(self):
        return None

    def score(self, prompts, *, progress=None):  # a free-form task never scores
        raise AssertionError("a free-form task must not be scored by log-probability")

    def generate(self, requests, *, progress=None):
        from promptcheck.models.base import Generation

        self.requests += list(requests)
        return [Generation(self.answer(r.context), "eos") for r in requests]
