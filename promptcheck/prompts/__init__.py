"""Prompts: render an instruction and an item into context text and answer continuations."""

from promptcheck.prompts.rendering import ChatFormatter, Prompt, render, user_message

__all__ = ["ChatFormatter", "Prompt", "render", "user_message"]
