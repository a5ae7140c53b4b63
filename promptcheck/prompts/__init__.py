"""Prompts: render an instruction and an item into context text and answer continuations."""

from promptcheck.prompts.rendering import DEFAULT_FORMAT, ChatFormatter, Prompt, PromptFormat, render, user_message

__all__ = ["DEFAULT_FORMAT", "ChatFormatter", "Prompt", "PromptFormat", "render", "user_message"]
