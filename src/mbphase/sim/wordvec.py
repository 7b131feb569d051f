"""Short vectors of 64-bit words, for kernels that do the same bitwise work
on several words at once.

The replica kernel (:mod:`mbphase.sim.greedy_replicas`) applies one proposal
to every word of a group: the same few AND, OR, XOR and POPCNT operations on
each. LLVM's auto-vectoriser did not turn those short loops into vector
instructions (it wants more iterations than a group has, and cannot rule out
overlap between the arrays), so this module gives Numba an explicit vector
type: ``n`` words (:data:`WIDTHS`) in one LLVM ``<n x i64>`` value, which
the x86-64 back end spreads over as many vector registers as it needs (AVX2,
AVX-512 or SSE: the results are the same on every CPU, only the speed
differs).

The same generic functions take a plain ``uint64`` word or a vector, so one
kernel body serves both the vector part of a group and its leftover words:

- ``&``, ``|``, ``^``, ``~`` and ``+`` (lane by lane, wrapping);
- :func:`load` and :func:`store` (``proto`` says which: ``ZERO`` loads one
  word, ``vzero(n)`` a vector of ``n`` consecutive words);
- :func:`nonzero` (any bit set);
- :func:`accept_lanes`, the zero-temperature acceptance of the runs packed
  in a word's lanes.

It also holds the word constants and :func:`popcount`, which
:mod:`mbphase.sim.bitsets` builds on.

The generic functions are Numba overloads compiled as small functions that
LLVM inlines, not overloads with ``inline="always"``: Numba's typed
inlining of them, in a function that called :func:`store` many times, lost
one of the stores (a record's last field was never written;
tests/test_greedy_replicas.py's comparison of the batch records caught it).
"""

from __future__ import annotations

import operator

import numpy as np
from llvmlite import ir
from numba import types, uint64
from numba.core import cgutils
from numba.extending import intrinsic, models, overload, register_model

from . import numba_cache  # noqa: F401  (before any @njit: the cache directory of this code version)

ONES = np.uint64(0xFFFFFFFFFFFFFFFF)
ZERO = np.uint64(0)
ONE = np.uint64(1)


@intrinsic
def popcount(typingctx, x):
    """Number of set bits of a 64-bit integer, as int64 (LLVM ctpop: one
    POPCNT instruction on x86-64)."""
    if not isinstance(x, types.Integer) or x.bitwidth != 64:
        return None
    sig = types.int64(x)

    def codegen(context, builder, signature, args):
        return builder.ctpop(args[0])

    return sig, codegen


WIDTHS = (16, 8, 4)
"""Vector widths, in words, that a kernel may use (largest first)."""

_I64 = ir.IntType(64)


class WordVector(types.Type):
    """Numba type of ``width`` uint64 words held as one LLVM vector."""

    def __init__(self, width):
        self.width = width
        super().__init__(name=f"WordVector{width}")


def _llvm(fe_type):
    return ir.VectorType(_I64, fe_type.width)


@register_model(WordVector)
class _WordVectorModel(models.PrimitiveModel):
    def __init__(self, dmm, fe_type):
        super().__init__(dmm, fe_type, _llvm(fe_type))


def _is_vec(t) -> bool:
    return isinstance(t, WordVector)


def _is_word(t) -> bool:
    return isinstance(t, types.Integer) and t.bitwidth == 64


# --- the vector's own operations (intrinsics) ---


@intrinsic
def vzero(typingctx, width):
    """A vector of ``width`` (a constant of :data:`WIDTHS`) zero words."""
    if not (isinstance(width, types.IntegerLiteral) and width.literal_value in WIDTHS):
        return None
    vt = WordVector(width.literal_value)

    def codegen(context, builder, sig, args):
        return ir.Constant(_llvm(vt), None)

    return vt(width), codegen


@intrinsic
def _splat(typingctx, proto, x):
    """A vector like ``proto`` whose every word is ``x`` (uint64)."""
    if not (_is_vec(proto) and _is_word(x)):
        return None

    def codegen(context, builder, sig, args):
        vec = _llvm(sig.return_type)
        n = sig.return_type.width
        v = builder.insert_element(ir.Constant(vec, ir.Undefined), args[1], ir.Constant(ir.IntType(32), 0))
        return builder.shuffle_vector(v, ir.Constant(vec, ir.Undefined), ir.Constant(ir.VectorType(ir.IntType(32), n), [0] * n))

    return proto(proto, x), codegen


def _vector_pointer(context, builder, aryty, ary, index, vt):
    data = context.make_array(aryty)(context, builder, ary).data
    return builder.bitcast(builder.gep(data, [index]), _llvm(vt).as_pointer())


def _checked_array(arr):
    return isinstance(arr, types.Array) and arr.ndim == 1 and arr.layout == "C" and arr.dtype == uint64


@intrinsic
def _vload(typingctx, proto, arr, index):
    if not (_is_vec(proto) and _checked_array(arr) and isinstance(index, types.Integer)):
        return None

    def codegen(context, builder, sig, args):
        return builder.load(_vector_pointer(context, builder, sig.args[1], args[1], args[2], sig.return_type), align=8)

    return proto(proto, arr, index), codegen


@intrinsic
def _vstore(typingctx, arr, index, v):
    if not (_checked_array(arr) and isinstance(index, types.Integer) and _is_vec(v)):
        return None

    def codegen(context, builder, sig, args):
        builder.store(args[2], _vector_pointer(context, builder, sig.args[0], args[0], args[1], sig.args[2]), align=8)
        return context.get_dummy_value()

    return types.none(arr, index, v), codegen


def _binary(build):
    @intrinsic
    def op(typingctx, a, b):
        if not (_is_vec(a) and a == b):
            return None

        def codegen(context, builder, sig, args):
            return build(builder, args[0], args[1])

        return a(a, b), codegen

    return op


_vand = _binary(lambda b, x, y: b.and_(x, y))
_vor = _binary(lambda b, x, y: b.or_(x, y))
_vxor = _binary(lambda b, x, y: b.xor(x, y))
_vadd = _binary(lambda b, x, y: b.add(x, y))


@intrinsic
def _vnot(typingctx, a):
    if not _is_vec(a):
        return None

    def codegen(context, builder, sig, args):
        return builder.not_(args[0])

    return a(a), codegen


@intrinsic
def _vnonzero(typingctx, a):
    if not _is_vec(a):
        return None

    def codegen(context, builder, sig, args):
        n = sig.args[0].width
        ne = builder.icmp_unsigned("!=", args[0], ir.Constant(_llvm(sig.args[0]), None))
        bits = builder.bitcast(ne, ir.IntType(n))
        return builder.icmp_unsigned("!=", bits, ir.Constant(ir.IntType(n), 0))

    return types.boolean(a), codegen


@intrinsic
def _vaccept(typingctx, ch, chc, lane):
    """Per word: ``lane`` where 2 popcount(chc & lane) - popcount(ch &
    lane) <= 0, else zero (LLVM's vector ctpop: VPOPCNTQ with AVX-512,
    a nibble lookup on plain AVX2)."""
    if not (_is_vec(ch) and ch == chc and ch == lane):
        return None

    def codegen(context, builder, sig, args):
        ch, chc, lane = args
        vec = _llvm(sig.return_type)
        n = sig.return_type.width
        ctpop = cgutils.get_or_insert_function(builder.module, ir.FunctionType(vec, [vec]), f"llvm.ctpop.v{n}i64")
        changed = builder.call(ctpop, [builder.and_(ch, lane)])
        correct = builder.call(ctpop, [builder.and_(chc, lane)])
        de = builder.sub(builder.shl(correct, ir.Constant(vec, [1] * n)), changed)
        ok = builder.icmp_signed("<=", de, ir.Constant(vec, None))
        return builder.and_(builder.sext(ok, vec), lane)

    return ch(ch, chc, lane), codegen


# --- operators and generic functions: a uint64 word or a vector ---

for _op, _impl in ((operator.and_, _vand), (operator.or_, _vor), (operator.xor, _vxor), (operator.add, _vadd)):

    def _overload_binary(impl):
        def typer(a, b):
            if _is_vec(a) and _is_vec(b):
                return lambda a, b: impl(a, b)

        return typer

    overload(_op)(_overload_binary(_impl))


@overload(operator.invert)
def _invert(a):
    if _is_vec(a):
        return lambda a: _vnot(a)


def load(proto, arr, index):
    """``arr[index]`` if ``proto`` is a word, else the vector of
    ``arr[index : index + n]``, ``n`` the width of ``proto`` (in bounds: not
    checked)."""


def store(arr, index, value):
    """``arr[index] = value`` for a word, ``arr[index : index + n] =
    value`` for a vector of ``n`` words (in bounds: not checked)."""


def nonzero(value):
    """Whether any bit of the word or vector is set."""


def accept_lanes(ch, chc, lane):
    """``lane`` (a mask of one run's bits in a word, uint64) in the words
    where that run accepts a flip at zero temperature, else zero.

    ``ch`` marks the patterns whose output the flip changes and ``chc``
    those of them now classified correctly: the energy change is
    ``popcount(chc) - popcount(ch & ~chc) = 2 popcount(chc) -
    popcount(ch)`` within the lane, and a flip is accepted when it is <= 0."""


def splat_like(proto, x):
    """``x`` (uint64) as a word or as a vector of ``x``, like ``proto``."""


@overload(load)
def _load(proto, arr, index):
    if _is_word(proto):
        return lambda proto, arr, index: arr[index]
    if _is_vec(proto):
        return lambda proto, arr, index: _vload(proto, arr, index)


@overload(store)
def _store(arr, index, value):
    if _is_word(value):

        def word_store(arr, index, value):
            arr[index] = value

        return word_store
    if _is_vec(value):
        return lambda arr, index, value: _vstore(arr, index, value)


@overload(nonzero)
def _nonzero(value):
    if _is_word(value):
        return lambda value: value != ZERO
    if _is_vec(value):
        return lambda value: _vnonzero(value)


@overload(splat_like)
def _splat_like(proto, x):
    if _is_word(proto):
        return lambda proto, x: uint64(x)
    if _is_vec(proto):
        return lambda proto, x: _splat(proto, uint64(x))


@overload(accept_lanes)
def _accept_lanes(ch, chc, lane):
    if _is_word(ch):
        return lambda ch, chc, lane: lane & (ZERO - uint64(2 * popcount(chc & lane) - popcount(ch & lane) <= 0))
    if _is_vec(ch):
        return lambda ch, chc, lane: _vaccept(ch, chc, _splat(ch, uint64(lane)))

