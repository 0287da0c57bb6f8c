"""From clean text to training tokens: train a byte-level BPE tokenizer on a dataset, tokenize a dataset into
memory-mappable token shards (with a loss mask for conversations), and read them back in a trainer through
`TokenShards(dir, tokenizer=...)`, which refuses shards made with another tokenizer."""

from corpus.tokenization.chat import CHAT_TEMPLATE, encode_chats
from corpus.tokenization.load import SPECIAL_TOKENS, LoadedTokenizer, load_tokenizer, tokenizer_hash
from corpus.tokenization.reader import TokenShards, check_tokenizer, read_meta, shards_current
from corpus.tokenization.shards import choose_dtype, tokenize_dataset
from corpus.tokenization.train import train_tokenizer

__all__ = [
    "CHAT_TEMPLATE",
    "SPECIAL_TOKENS",
    "LoadedTokenizer",
    "TokenShards",
    "check_tokenizer",
    "choose_dtype",
    "encode_chats",
    "load_tokenizer",
    "read_meta",
    "shards_current",
    "tokenize_dataset",
    "tokenizer_hash",
    "train_tokenizer",
]
