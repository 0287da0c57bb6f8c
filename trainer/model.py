"""The model: a decoder-only transformer that maps one to one onto transformers' `LlamaForCausalLM`.

RMSNorm before attention and MLP, rotary position embeddings (rotate-half layout, like transformers, so weights
move across without a permutation), grouped-query attention through `scaled_dot_product_attention` (flash
kernels on GPU), SwiGLU MLP, no biases, tied or untied input and output embeddings, optional dropout.

Module names are transformers' without the leading `model.`: `embed_tokens`, `layers.N.self_attn.q_proj`,
`layers.N.mlp.gate_proj`, `layers.N.input_layernorm`, `norm`, `lm_head`; so a state dict maps onto a Llama
checkpoint by adding or stripping that prefix (`to_hf_state_dict`, `from_hf_state_dict`).

`forward(idx, targets)` is all training needs. Generation passes a `KVCache` (keys and values of the tokens seen
so far), and, for left-padded batches or packed sequences, explicit `positions` and a boolean `attn_mask`.

Training speed on the CPU comes from doing the same arithmetic in fewer passes over memory, not from other
numbers (tests check logits, loss and every gradient against transformers' LlamaForCausalLM): q/k/v and gate/up
each run as one matrix product on their stacked weights, rotary embeddings and RMSNorm have hand-written
backwards (`Rotary`, `RMSNormFunction`), and the training loss (`LinearCrossEntropy`) makes the logits a chunk
of rows at a time instead of all (B*T, vocab) of them and their gradient.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields

import torch
import torch.nn as nn
import torch.nn.functional as F

IGNORE_INDEX = -100  # targets equal to this are not trained on (masked prompt tokens, padding)
LOSS_CHUNK = 512  # rows of logits made at a time by the training loss (LinearCrossEntropy)


@dataclass
class ModelConfig:
    vocab_size: int = 8192
    n_layer: int = 4
    n_head: int = 4
    n_kv_head: int = 4
    d_model: int = 256
    d_ff: int = 0  # SwiGLU hidden size; 0: 8/3 of d_model rounded up to a multiple of 64
    max_seq_len: int = 256  # positions the model is built for (rotary tables); longer inputs are refused
    rope_theta: float = 10000.0
    norm_eps: float = 1e-5
    tie_embeddings: bool = True
    dropout: float = 0.0

    def __post_init__(self) -> None:
        if self.d_ff == 0:
            self.d_ff = 64 * math.ceil(8 * self.d_model / 3 / 64)
        if self.d_model % self.n_head or self.n_head % self.n_kv_head:
            raise ValueError(
                f"d_model ({self.d_model}) must divide by n_head ({self.n_head}) and n_head by n_kv_head "
                f"({self.n_kv_head})"
            )
        if (self.d_model // self.n_head) % 2:
            raise ValueError(
                f"the head size d_model/n_head ({self.d_model // self.n_head}) must be even (rotary)"
            )

    @property
    def head_dim(self) -> int:
        return self.d_model // self.n_head

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ModelConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown model config keys: {', '.join(sorted(unknown))}")
        return cls(**d)


def rotary_tables(head_dim: int, max_len: int, theta: float) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin of every position and frequency, (max_len, head_dim), in transformers' layout (the half of
    frequencies repeated twice) so rotate_half applies."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
    freqs = torch.outer(torch.arange(max_len, dtype=torch.int64).float(), inv_freq)
    emb = torch.cat((freqs, freqs), dim=-1)
    return emb.cos(), emb.sin()


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat((-x2, x1), dim=-1)


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """x (B, H, T, D); cos and sin (B, 1, T, D). The reference form (transformers'); the model uses Rotary."""
    return x * cos + rotate_half(x) * sin


def _rotate_halves(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """apply_rotary written on the two halves of the head dimension: out1 = x1 cos - x2 sin, out2 = x2 cos +
    x1 sin, with cos and sin the half tables (..., D/2). No concatenation, no negated copy."""
    x1, x2 = x.chunk(2, dim=-1)
    out = torch.empty(x.shape, dtype=torch.result_type(x, cos), device=x.device)
    out1, out2 = out.chunk(2, dim=-1)
    torch.mul(x1, cos, out=out1)
    out1.addcmul_(x2, sin, value=-1.0)
    torch.mul(x2, cos, out=out2)
    out2.addcmul_(x1, sin)
    return out


class Rotary(torch.autograd.Function):
    """Rotary embedding of x (B, T, heads, D) with half tables cos, sin (B or 1, T, 1, D/2). A rotation's
    gradient is the inverse rotation (sin negated), so backward keeps only the tables: autograd would keep x
    and run twice the elementwise passes."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(cos, sin)
        ctx.x_dtype = x.dtype
        return _rotate_halves(x, cos, sin)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        cos, sin = ctx.saved_tensors
        return _rotate_halves(grad, cos, -sin).to(ctx.x_dtype), None, None


class RMSNormFunction(torch.autograd.Function):
    """weight * x / rms(x), computed in fp32 like transformers' LlamaRMSNorm and cast back to x's dtype before
    the weight. Written out with its backward: autograd's runs a dozen elementwise passes over the
    activations for the composite, this one six."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, eps: float) -> torch.Tensor:
        xf = x.float()
        rstd = torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + eps)
        normed = (xf * rstd).to(x.dtype)
        ctx.save_for_backward(normed, rstd, weight)
        return weight * normed

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        normed, rstd, weight = ctx.saved_tensors
        grad_weight = None
        if ctx.needs_input_grad[1]:
            grad_weight = (grad * normed).reshape(-1, normed.shape[-1]).sum(0).to(weight.dtype)
        grad_x = None
        if ctx.needs_input_grad[0]:
            g = (grad * weight).float()
            n = normed.float()
            # d/dx of x * rstd(x): rstd * (g - n * mean(g * n))
            grad_x = ((g - n * (g * n).mean(-1, keepdim=True)) * rstd).to(normed.dtype)
        return grad_x, grad_weight, None


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # in fp32 like transformers' LlamaRMSNorm, then back to the activation dtype (bf16 under autocast)
        return RMSNormFunction.apply(x, self.weight, self.eps)


class LinearCrossEntropy(torch.autograd.Function):
    """cross_entropy(x @ weight.T, targets, reduction="sum") for training, a chunk of rows at a time: each
    chunk's logits are made, turned into the loss and at once into the gradients, then dropped; backward only
    scales them. The (rows, vocab) fp32 logits and their gradient (67 MB each at batch 8 x 256 tokens,
    vocabulary 8,192) never exist, and a chunk's passes stay in cache. The matrix products are the plain
    path's; the loss agrees to float32 rounding.

    With p = exp(logits - max), s its row sums and c the rows counted (target not IGNORE_INDEX), the
    gradient of the logits is c/s * p - onehot(target), so: grad_x = c/s * (p @ weight) - c * weight[target]
    and grad_weight = p.T @ (c/s * x) - scatter of c * x to the target rows. The softmax is never
    normalized nor the one-hot subtracted over the (rows, vocab) matrix: three passes over it, not six."""

    @staticmethod
    def forward(
        ctx, x: torch.Tensor, weight: torch.Tensor, targets: torch.Tensor, chunk: int
    ) -> torch.Tensor:
        want_x, want_w = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        grad_x = torch.empty_like(x) if want_x else None
        grad_w = torch.zeros_like(weight) if want_w else None
        total = torch.zeros((), dtype=torch.float32, device=x.device)
        # one buffer for every chunk's logits: a fresh large tensor per chunk costs page faults on the CPU
        buffer = torch.empty(min(chunk, x.shape[0]), weight.shape[0], dtype=x.dtype, device=x.device)
        for start in range(0, x.shape[0], chunk):
            xc, tc = x[start : start + chunk], targets[start : start + chunk]
            counted = (tc != IGNORE_INDEX)[:, None].to(x.dtype)
            safe = tc.clamp(min=0)  # an ignored row's target is any valid index; counted is 0 there
            logits = torch.mm(xc, weight.t(), out=buffer[: len(xc)])
            top = logits.amax(-1, keepdim=True)
            target_logit = logits.gather(1, safe[:, None])
            p = logits.sub_(top).exp_()
            sums = p.sum(-1, keepdim=True)
            total += ((sums.log() + top - target_logit) * counted).sum()
            scale = counted / sums
            if want_x:
                gx = torch.mm(p, weight, out=grad_x[start : start + chunk])
                gx.mul_(scale).sub_(weight[safe] * counted)
            if want_w:
                grad_w.addmm_(p.t(), xc * scale)
                grad_w.index_add_(0, safe, xc * counted, alpha=-1)
        ctx.save_for_backward(grad_x, grad_w)
        return total

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        grad_x, grad_w = ctx.saved_tensors
        return (
            grad_x * grad if grad_x is not None else None,
            grad_w * grad if grad_w is not None else None,
            None,
            None,
        )


class KVCache:
    """Keys and values of every layer for a batch, preallocated to `max_len` positions. `length` is how many
    positions are filled; the model writes the new tokens' keys at [length, length + T) in every layer and
    moves `length` on once the last layer is done."""

    def __init__(
        self, config: ModelConfig, batch: int, max_len: int, device: torch.device | str, dtype: torch.dtype
    ) -> None:
        shape = (config.n_layer, batch, config.n_kv_head, max_len, config.head_dim)
        self.k = torch.zeros(shape, device=device, dtype=dtype)
        self.v = torch.zeros(shape, device=device, dtype=dtype)
        self.max_len = max_len
        self.length = 0

    def update(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        start, end = self.length, self.length + k.shape[2]
        if end > self.max_len:
            raise ValueError(f"KV cache holds {self.max_len} positions, {end} asked")
        self.k[layer, :, :, start:end] = k
        self.v[layer, :, :, start:end] = v
        return self.k[layer, :, :, :end], self.v[layer, :, :, :end]


class Attention(nn.Module):
    def __init__(self, config: ModelConfig, layer: int) -> None:
        super().__init__()
        self.layer = layer
        self.n_head, self.n_kv_head, self.head_dim = config.n_head, config.n_kv_head, config.head_dim
        self.q_proj = nn.Linear(config.d_model, config.n_head * config.head_dim, bias=False)
        self.k_proj = nn.Linear(config.d_model, config.n_kv_head * config.head_dim, bias=False)
        self.v_proj = nn.Linear(config.d_model, config.n_kv_head * config.head_dim, bias=False)
        self.o_proj = nn.Linear(config.n_head * config.head_dim, config.d_model, bias=False)
        self.dropout = config.dropout

    def projections(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Queries and keys side by side (B, T, n_head + n_kv_head, head_dim), so one rotary call serves both,
        and values (B, T, n_kv_head, head_dim). Plain linear layers run as one matrix product on their stacked
        weights (a larger product uses the CPU better, and backward adds one input gradient, not three);
        LoRA-wrapped ones (peft) through their own modules."""
        B, T, _ = x.shape
        H, KV, D = self.n_head, self.n_kv_head, self.head_dim
        if type(self.q_proj) is type(self.k_proj) is type(self.v_proj) is nn.Linear:
            weight = torch.cat((self.q_proj.weight, self.k_proj.weight, self.v_proj.weight))
            qk, v = F.linear(x, weight).view(B, T, H + 2 * KV, D).split((H + KV, KV), dim=2)
            return qk, v
        qk = torch.cat((self.q_proj(x).view(B, T, H, D), self.k_proj(x).view(B, T, KV, D)), dim=2)
        return qk, self.v_proj(x).view(B, T, KV, D)

    def forward(
        self,
        x: torch.Tensor,
        cos: torch.Tensor,
        sin: torch.Tensor,
        attn_mask: torch.Tensor | None,
        cache: KVCache | None,
    ) -> torch.Tensor:
        """cos, sin: half rotary tables (B or 1, T, 1, head_dim / 2)."""
        B, T, _ = x.shape
        qk, v = self.projections(x)
        q, k = Rotary.apply(qk, cos, sin).split((self.n_head, self.n_kv_head), dim=2)
        q, k, v = q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2)  # (B, heads, T, head_dim)
        past = cache.length if cache is not None else 0
        if cache is not None:
            k, v = cache.update(self.layer, k, v)
        # causal without a mask only when the queries and keys start together (training, the first prefill)
        is_causal = attn_mask is None and past == 0 and T > 1
        if attn_mask is None and past > 0 and T > 1:
            attn_mask = causal_mask(T, past + T, past, x.device)
        y = F.scaled_dot_product_attention(
            q,
            k,
            v,
            attn_mask=attn_mask,
            dropout_p=self.dropout if self.training else 0.0,
            is_causal=is_causal,
            enable_gqa=self.n_kv_head != self.n_head,
        )
        return self.o_proj(y.transpose(1, 2).reshape(B, T, self.n_head * self.head_dim))


class MLP(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(config.d_model, config.d_ff, bias=False)
        self.up_proj = nn.Linear(config.d_model, config.d_ff, bias=False)
        self.down_proj = nn.Linear(config.d_ff, config.d_model, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if type(self.gate_proj) is type(self.up_proj) is nn.Linear:  # one product, as in Attention
            gate, up = F.linear(x, torch.cat((self.gate_proj.weight, self.up_proj.weight))).chunk(2, dim=-1)
        else:
            gate, up = self.gate_proj(x), self.up_proj(x)
        return self.down_proj(F.silu(gate) * up)


class Block(nn.Module):
    def __init__(self, config: ModelConfig, layer: int) -> None:
        super().__init__()
        self.input_layernorm = RMSNorm(config.d_model, config.norm_eps)
        self.self_attn = Attention(config, layer)
        self.post_attention_layernorm = RMSNorm(config.d_model, config.norm_eps)
        self.mlp = MLP(config)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x, cos, sin, attn_mask, cache):
        x = x + self.dropout(self.self_attn(self.input_layernorm(x), cos, sin, attn_mask, cache))
        return x + self.dropout(self.mlp(self.post_attention_layernorm(x)))


def causal_mask(T: int, S: int, past: int, device: torch.device | str) -> torch.Tensor:
    """(T, S) boolean mask, True where query i (at position past + i) may attend key j."""
    return torch.arange(S, device=device)[None, :] <= (past + torch.arange(T, device=device))[:, None]


class GPT(nn.Module):
    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.embed_tokens = nn.Embedding(config.vocab_size, config.d_model)
        self.dropout = nn.Dropout(config.dropout)
        self.layers = nn.ModuleList(Block(config, i) for i in range(config.n_layer))
        self.norm = RMSNorm(config.d_model, config.norm_eps)
        self.lm_head = nn.Linear(config.d_model, config.vocab_size, bias=False)
        if config.tie_embeddings:
            self.lm_head.weight = self.embed_tokens.weight
        cos, sin = rotary_tables(config.head_dim, config.max_seq_len, config.rope_theta)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        self.apply(self._init_weights)
        # GPT-2's scaled init of the projections that write into the residual stream
        for name, p in self.named_parameters():
            if name.endswith(("o_proj.weight", "down_proj.weight")):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, nn.Linear | nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def num_parameters(self, exclude_embeddings: bool = False) -> int:
        n = sum(p.numel() for p in self.parameters())  # a tied weight is counted once
        return n - self.embed_tokens.weight.numel() if exclude_embeddings else n

    def forward(
        self,
        idx: torch.Tensor,
        targets: torch.Tensor | None = None,
        *,
        positions: torch.Tensor | None = None,
        attn_mask: torch.Tensor | None = None,
        cache: KVCache | None = None,
        reduction: str = "mean",
    ) -> torch.Tensor:
        """idx (B, T) token ids. Without targets: logits (B, T, vocab). With targets (B, T; IGNORE_INDEX where
        not trained): the cross-entropy, averaged over the counted targets (reduction="mean") or summed
        (reduction="sum", what evaluation adds up in nats).

        positions (B, T): each token's position (default: after the cache's, or 0..T-1); attn_mask: boolean,
        broadcastable to (B, 1, T, keys), True where a query may attend (default: causal)."""
        B, T = idx.shape
        past = cache.length if cache is not None else 0
        if positions is None:
            if past + T > self.config.max_seq_len:
                raise ValueError(
                    f"sequence of {past + T} tokens, the model has {self.config.max_seq_len} positions"
                )
            cos, sin = (
                self.rope_cos[past : past + T][None, :, None],
                self.rope_sin[past : past + T][None, :, None],
            )
        else:
            if int(positions.max()) >= self.config.max_seq_len:
                raise ValueError(
                    f"position {int(positions.max())} beyond the model's {self.config.max_seq_len}"
                )
            cos, sin = self.rope_cos[positions][:, :, None], self.rope_sin[positions][:, :, None]
        x = self.dropout(self.embed_tokens(idx))
        half = self.config.head_dim // 2  # the tables repeat their first half (transformers' layout)
        cos, sin = cos[..., :half].to(x.dtype), sin[..., :half].to(x.dtype)
        for block in self.layers:
            x = block(x, cos, sin, attn_mask, cache)
        if cache is not None:
            cache.length += T
        x = self.norm(x)
        if (
            targets is not None
            and torch.is_grad_enabled()
            and not torch.is_autocast_enabled(x.device.type)
            and type(self.lm_head) is nn.Linear
        ):
            # training in full precision: the chunked loss, which never holds the whole logits
            total = LinearCrossEntropy.apply(
                x.view(B * T, -1), self.lm_head.weight, targets.reshape(-1), LOSS_CHUNK
            )
            if reduction == "sum":
                return total
            return total / (targets != IGNORE_INDEX).sum()
        logits = self.lm_head(x)
        if targets is None:
            return logits
        return F.cross_entropy(
            logits.float().view(-1, logits.size(-1)),
            targets.reshape(-1),
            ignore_index=IGNORE_INDEX,
            reduction=reduction,
        )


# transformers' LlamaForCausalLM keeps everything but lm_head under "model."
def to_hf_state_dict(model: GPT) -> dict[str, torch.Tensor]:
    """The model's weights under transformers' names (a tied lm_head is left out, as transformers saves it)."""
    out = {}
    for name, tensor in model.state_dict().items():
        if name == "lm_head.weight":
            if not model.config.tie_embeddings:
                out[name] = tensor
        else:
            out["model." + name] = tensor
    return out


def from_hf_state_dict(state: dict[str, torch.Tensor], config: ModelConfig) -> dict[str, torch.Tensor]:
    """A Llama checkpoint's tensors under this model's names (rotary inv_freq buffers dropped)."""
    out = {}
    for name, tensor in state.items():
        if name.endswith("rotary_emb.inv_freq"):
            continue
        out[name.removeprefix("model.")] = tensor
    if config.tie_embeddings:
        out.setdefault("lm_head.weight", out["embed_tokens.weight"])
    return out
