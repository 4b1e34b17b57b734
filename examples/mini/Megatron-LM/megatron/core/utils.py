"""List-based maths for the mini Megatron: a vector is a list of floats, a "tensor" a list of vectors."""

import math


def init_weight(rows, cols, std, salt):
    """A deterministic weight matrix (rows x cols) with entries in {-5, ..., 5} * std / 5."""
    return [[std * ((((r + 1) * 7 + (c + 1) * 3 + salt * 5) % 11) - 5) / 5 for c in range(cols)] for r in range(rows)]


def matvec(weight, vector):
    return [sum(w * x for w, x in zip(row, vector, strict=False)) for row in weight]


def dot(a, b):
    return sum(x * y for x, y in zip(a, b, strict=False))


def add(a, b):
    return [[x + y for x, y in zip(row_a, row_b, strict=False)] for row_a, row_b in zip(a, b, strict=False)]


def scale(rows, factor):
    return [[x * factor for x in row] for row in rows]


def softmax(values):
    top = max(values)
    exps = [math.exp(v - top) for v in values]
    total = sum(exps)
    return [e / total for e in exps]


def gelu(vector):
    return [0.5 * x * (1.0 + math.tanh(0.7978845608 * (x + 0.044715 * x ** 3))) for x in vector]


def silu(x):
    return x / (1.0 + math.exp(-x))


def mean_squared_error(output, labels):
    pairs = zip(output, labels, strict=True)
    diffs = [(o - t) ** 2 for row_o, row_t in pairs for o, t in zip(row_o, row_t, strict=True)]
    return sum(diffs) / len(diffs)
