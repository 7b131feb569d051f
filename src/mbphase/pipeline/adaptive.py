"""Adaptive m grid: where to measure next, round by round, until m_c is known
to the requested precision.

An experiment with an ``adaptive`` block (config.schema.yaml) gives no m grid.
For every size, the workflow (workflow/rules/adaptive.smk, Snakemake
checkpoints) runs rounds:

* the start (:func:`start_plan`) places ``start_points`` m values evenly in
  log m across the start bracket: given in the config, absolute or as
  multiples of the size, or predicted from the power law m_c = A size^b
  fitted to the sizes already done;
* after each round (:func:`decide`) the runs so far give m_c and its
  bootstrap error (:func:`mbphase.analysis.critical.critical_m`, the same
  estimator as the analysis). If m_c is not bracketed, the bracket is
  widened towards the transition (at most ``max_widenings`` times); if its
  relative error is above ``target_rel_error`` and rounds are left,
  ``points_per_round`` new m values are added where they reduce the error of
  log m_c most (:func:`choose_points`); otherwise the size is done.

Every m is an integer on one fixed lattice, m = round((1 + lattice)^j), so
points of different rounds, sizes and reruns coincide instead of differing
in the last digit, and the choice of points is a deterministic function of
the run results: a clean rerun measures the same points and gives identical
tables. The decisions are written as small JSON files; this module only
computes them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

STATUS_CONTINUE = "continue"
STATUS_CONVERGED = "converged"
STATUS_MAX_ROUNDS = "max_rounds"
STATUS_EXHAUSTED = "lattice_exhausted"
# A size is done when its last decision has one of these statuses.
FINAL_STATUSES = (STATUS_CONVERGED, STATUS_MAX_ROUNDS, STATUS_EXHAUSTED)

# Bootstrap of the per-round fit: as `mbphase analyse` by default, so that the
# last round's m_c and error are those of the analysis table.
N_BOOT = 200
BOOT_SEED = 0


class AdaptiveError(RuntimeError):
    """The transition cannot be located: the message names the experiment,
    the size, what was measured and what to change in the config."""


@dataclass(frozen=True)
class Settings:
    """An experiment's ``adaptive`` block (defaults filled in by the config)."""

    target_rel_error: float
    start_points: int
    points_per_round: int
    max_rounds: int
    max_widenings: int
    lattice: float
    bracket: tuple[int, int] | None = None
    bracket_per_size: tuple[float, float] | None = None
    predict: bool = False
    predict_factor: float = 1.5
    predict_exponents: tuple[float, float] | None = None

    @classmethod
    def from_dict(cls, block: Mapping) -> "Settings":
        return cls(
            target_rel_error=float(block["target_rel_error"]),
            start_points=int(block["start_points"]),
            points_per_round=int(block["points_per_round"]),
            max_rounds=int(block["max_rounds"]),
            max_widenings=int(block["max_widenings"]),
            lattice=float(block["lattice"]),
            bracket=tuple(int(v) for v in block["bracket"]) if block.get("bracket") is not None else None,
            bracket_per_size=tuple(float(v) for v in block["bracket_per_size"]) if block.get("bracket_per_size") is not None else None,
            predict=bool(block.get("predict", False)),
            predict_factor=float(block.get("predict_factor", 1.5)),
            predict_exponents=tuple(float(v) for v in block["predict_exponents"]) if block.get("predict_exponents") is not None else None,
        )

    def as_dict(self) -> dict:
        return {
            "target_rel_error": self.target_rel_error, "start_points": self.start_points,
            "points_per_round": self.points_per_round, "max_rounds": self.max_rounds,
            "max_widenings": self.max_widenings, "lattice": self.lattice,
            "bracket": list(self.bracket) if self.bracket else None,
            "bracket_per_size": list(self.bracket_per_size) if self.bracket_per_size else None,
            "predict": self.predict, "predict_factor": self.predict_factor,
            "predict_exponents": list(self.predict_exponents) if self.predict_exponents else None,
        }

    def max_points(self) -> int:
        """An upper bound on the m values of one size (for the job count)."""
        return self.start_points * (1 + self.max_widenings) + self.points_per_round * self.max_rounds


# ------------------------------------------------------------------ lattice


def lattice_between(lo: float, hi: float, step: float) -> list[int]:
    """The lattice integers m = round((1 + step)^j), j >= 0, with
    lo <= m <= hi, increasing. Below about 1/step every integer is on it."""
    if hi < 1 or hi < lo:
        return []
    q = math.log1p(step)
    j_lo = max(0, math.floor(math.log(max(lo, 1.0)) / q) - 1)
    j_hi = math.ceil(math.log(hi + 0.5) / q) + 1
    values = sorted({int(round(math.exp(j * q))) for j in range(j_lo, j_hi + 1)})
    return [m for m in values if lo <= m <= hi]


def snap(m: float, step: float) -> int:
    """The lattice point nearest to m in log m (at least 1)."""
    if m <= 1:
        return 1
    near = lattice_between(m / (1 + 2 * step) - 1, m * (1 + 2 * step) + 1, step)
    return min(near, key=lambda v: (abs(math.log(v / m)), v))


def spread(lo: float, hi: float, n: int, step: float, exclude: Sequence[int] = ()) -> list[int]:
    """n lattice points across [lo, hi], as evenly spaced in log m as the
    lattice allows (the ends included), none of them in ``exclude``; fewer
    if the lattice has fewer free points there."""
    free = [m for m in lattice_between(lo, hi, step) if m not in set(exclude)]
    if len(free) <= n:
        return free
    logs = np.log(np.asarray(free, dtype=float))
    targets = np.linspace(logs[0], logs[-1], n) if n > 1 else np.array([0.5 * (logs[0] + logs[-1])])
    chosen: list[int] = []
    for t in targets:  # nearest free point not taken yet
        order = np.argsort(np.abs(logs - t), kind="stable")
        chosen.append(next(free[i] for i in order if free[i] not in chosen))
    return sorted(chosen)


# ------------------------------------------------------------------ start


def configured_bracket(settings: Settings, size: int) -> tuple[int, int]:
    """The start bracket the config gives for a size (lattice points)."""
    if settings.bracket is not None:
        lo, hi = settings.bracket
    else:
        lo, hi = (max(1.0, c * size) for c in settings.bracket_per_size)
    return snap(lo, settings.lattice), snap(hi, settings.lattice)


def predicted_bracket(settings: Settings, size: int, done: Mapping[int, tuple[float, float]]) -> tuple[tuple[int, int], str] | None:
    """The start bracket predicted from the smaller sizes already done,
    ``done`` mapping size -> (m_c, m_c_err), with where it comes from; None
    when there is nothing to predict from.

    With two or more sizes done: [m / f, m f] around the power law
    m_c = A size^b through the two largest of them (f = predict_factor).
    With one size d0 done and ``predict_exponents`` [b_lo, b_hi] given:
    [m_c(d0) (size/d0)^b_lo, m_c(d0) (size/d0)^b_hi], every exponent of the
    range allowed (a wrong range costs a widening, not a wrong answer)."""
    from mbphase.analysis.critical import fit_line

    sizes = sorted(s for s, (mc, _) in done.items() if s < size and math.isfinite(mc) and mc > 0)
    if len(sizes) == 1 and settings.predict_exponents is not None:
        d0, (mc0, _) = sizes[0], done[sizes[0]]
        b_lo, b_hi = settings.predict_exponents
        ratio = size / d0
        bracket = (snap(mc0 * ratio ** b_lo, settings.lattice), snap(mc0 * ratio ** b_hi, settings.lattice))
        return bracket, f"m_c = {mc0:.4g} at size {d0} scaled by (size / {d0})^b, b in [{b_lo:g}, {b_hi:g}]"
    if len(sizes) < 2:
        return None
    # The local exponent of the two largest sizes done, not a fit to all of
    # them: the effective exponent drifts with size (finite-size
    # corrections), and the nearest sizes extrapolate best to the next one.
    sizes = sizes[-2:]
    mc = np.array([done[s][0] for s in sizes])
    err = np.array([done[s][1] for s in sizes])
    fit = fit_line(np.log(sizes), np.log(mc), err / mc, what="sizes with an m_c")
    predicted = math.exp(fit["intercept"] + fit["slope"] * math.log(size))
    f = settings.predict_factor
    bracket = (snap(predicted / f, settings.lattice), snap(predicted * f, settings.lattice))
    return bracket, f"predicted m_c = {predicted:.4g} from m_c = A size^b (b = {fit['slope']:.3f}) fitted to sizes {sizes}"


def start_plan(settings: Settings, size: int, done: Mapping[int, tuple[float, float]] | None = None) -> dict:
    """The start of one size: its bracket, where it comes from, and the m
    values of round 0."""
    predicted = predicted_bracket(settings, size, done or {}) if settings.predict else None
    if predicted is not None:
        bracket, origin = predicted
    else:
        bracket, origin = configured_bracket(settings, size), "configured"
    lo, hi = bracket
    if hi <= lo:
        hi = lattice_between(lo + 1, 2 * lo + 2, settings.lattice)[0]
    return {"size": int(size), "bracket": [int(lo), int(hi)], "origin": origin,
            "points": spread(lo, hi, settings.start_points, settings.lattice)}


# ------------------------------------------------------------------ rounds


def _fisher(x: np.ndarray, n: np.ndarray, mu: float, w: float) -> np.ndarray:
    """Fisher information on (mu, w) of the logistic P = expit((x - mu) / w)
    from n trials at each x."""
    z = (x - mu) / w
    p = 1.0 / (1.0 + np.exp(-z))
    weight = n * p * (1 - p)
    g = np.stack([-np.ones_like(x) / w, -z / w])  # d logit / d(mu, w)
    return (g * weight) @ g.T


def choose_points(measured: Sequence[int], seeds: int, log_mc: float, width: float, candidates: Sequence[int], n: int) -> list[int]:
    """The n candidates that reduce the variance of log m_c most.

    The model is the fitted logistic in log m (centre log_mc, width w); the
    variance of the centre is the (mu, mu) element of the inverse Fisher
    information of all measured points (``seeds`` runs each) and the new
    ones. Points are added one at a time, each the candidate that lowers
    that variance most (ties: the smaller m), so the choice balances the
    centre (most information on mu) against the flanks (which pin the
    width, and with it mu).
    """
    if n <= 0 or not candidates:
        return []
    info = _fisher(np.log(np.asarray(measured, dtype=float)), np.full(len(measured), float(seeds)), log_mc, width)
    info = info + 1e-9 * np.eye(2)
    left = sorted(set(int(c) for c in candidates) - set(int(m) for m in measured))
    chosen = []
    for _ in range(min(n, len(left))):
        best, best_var = None, math.inf
        for c in left:
            trial = info + _fisher(np.array([math.log(c)]), np.array([float(seeds)]), log_mc, width)
            var = np.linalg.inv(trial)[0, 0]
            if var < best_var * (1 - 1e-12):
                best, best_var = c, var
        chosen.append(best)
        left.remove(best)
        info = info + _fisher(np.array([math.log(best)]), np.array([float(seeds)]), log_mc, width)
    return sorted(chosen)


def estimate(runs) -> dict:
    """m_c, its bootstrap error, the method, width and reason, from the runs
    of one size (the analysis estimator, :func:`critical_m`), with P_succ per
    m."""
    from mbphase.analysis.critical import critical_m
    from mbphase.analysis.grouping import ok_mask, success_array

    table = critical_m(runs, n_boot=N_BOOT, seed=BOOT_SEED)
    if len(table) != 1:
        raise ValueError(f"expected the runs of one experiment and size, got {len(table)} groups")
    row = table.iloc[0]
    ok = ok_mask(runs)
    frame = runs.loc[ok, ["m"]].copy()
    frame["success"] = success_array(runs)[ok].astype(float)
    psucc = frame.groupby("m")["success"].mean()
    return {"m_c": float(row["m_c"]), "m_c_err": float(row["m_c_err"]), "method": str(row["method"]),
            "width": float(row["width"]), "reason": str(row["reason"]),
            "psucc": {int(m): float(p) for m, p in psucc.items()}}


def _fmt(values) -> str:
    return ", ".join(str(v) for v in values)


def decide(runs, state: Mapping, settings: Settings, round_: int, experiment: str, seeds: int) -> dict:
    """The decision after round ``round_`` of one size.

    Parameters
    ----------
    runs : DataFrame
        The runs of every point measured so far (rounds 0..round_), one
        experiment and size (the aggregated run rows).
    state : mapping
        The previous decision (or the start plan): ``size``, ``bracket``,
        ``widenings`` (0 if absent), and the m values measured up to this
        round: ``points`` plus ``next`` of the previous decision (the start
        plan's ``points`` for round 0).
    settings : the experiment's adaptive settings
    round_ : int, 0 for the start round
    experiment : its name (for messages)
    seeds : runs per point (the information of a new point)

    Returns
    -------
    dict, the next state: ``round``, ``size``, ``bracket``, ``widenings``,
    ``points`` (measured), ``next`` (m values of the next round; empty when
    done), ``status`` ('continue' or one of FINAL_STATUSES), ``m_c``,
    ``m_c_err``, ``rel_err``, ``method``, ``message``.

    Raises
    ------
    AdaptiveError
        When the transition is not in the bracket and it may not be widened
        any more (max_widenings, or no rounds left), or lies below m = 1.
    """
    size = int(state["size"])
    measured = sorted(set(int(m) for m in state["points"]) | set(int(m) for m in state.get("next", [])))
    lo, hi = (int(v) for v in state["bracket"])
    widenings = int(state.get("widenings", 0))
    est = estimate(runs)
    missing = sorted(set(measured) - set(est["psucc"]))
    if missing:
        raise ValueError(f"no ok runs at m = {_fmt(missing)}")
    out = {"round": int(round_), "size": size, "bracket": [lo, hi], "widenings": widenings, "points": measured, "next": [],
           "m_c": est["m_c"], "m_c_err": est["m_c_err"], "rel_err": est["m_c_err"] / est["m_c"] if est["m_c"] > 0 else math.nan,
           "method": est["method"], "psucc": {str(m): p for m, p in sorted(est["psucc"].items())}}
    last_round = round_ + 1 >= settings.max_rounds
    where = f"experiment '{experiment}', size {size}"

    if not math.isfinite(est["m_c"]):
        p = np.array([est["psucc"][m] for m in measured])
        up = bool(p[-1] < 0.5)  # still unsolved at the top: the transition is above
        if not up and not p[0] > 0.5:
            raise AdaptiveError(f"{where}: P_succ does not rise through 1/2 on m = {_fmt(measured)} "
                                f"(P_succ = {_fmt(f'{v:.2f}' for v in p)}); the adaptive grid needs a transition to refine")
        side = "above" if up else "below"
        if not up and lo <= 1:
            raise AdaptiveError(f"{where}: P_succ > 1/2 already at m = 1: there is no transition in m to locate")
        if widenings >= settings.max_widenings or last_round:
            limit = (f"max_widenings = {settings.max_widenings} widenings" if widenings >= settings.max_widenings
                     else f"max_rounds = {settings.max_rounds} rounds")
            raise AdaptiveError(
                f"{where}: the transition is not in the bracket [{lo}, {hi}] after {widenings} widening(s) "
                f"(P_succ {'< 1/2 at every m up to' if up else '> 1/2 at every m down to'} {measured[-1] if up else measured[0]}: "
                f"m_c lies {side}); the limit is {limit}. Move the start bracket (adaptive.bracket or adaptive.bracket_per_size) "
                f"{side} it, or raise adaptive.max_widenings / adaptive.max_rounds")
        ratio = hi / lo
        new_lo, new_hi = (hi, snap(hi * ratio, settings.lattice)) if up else (max(1, snap(lo / ratio, settings.lattice)), lo)
        points = spread(new_lo, new_hi, settings.start_points, settings.lattice, exclude=measured)
        out.update(bracket=[min(lo, new_lo), max(hi, new_hi)], widenings=widenings + 1, next=points, status=STATUS_CONTINUE,
                   message=f"m_c {side} the bracket [{lo}, {hi}]: widened to [{min(lo, new_lo)}, {max(hi, new_hi)}], next m = {_fmt(points)}")
        return out

    rel = out["rel_err"]
    unresolved = unresolved_gap(measured, est["psucc"], est["m_c"], settings.lattice)
    precise = math.isfinite(rel) and rel <= settings.target_rel_error
    if precise and unresolved is None:
        out.update(status=STATUS_CONVERGED, message=f"m_c = {est['m_c']:.4g} +- {est['m_c_err']:.2g} ({100 * rel:.2f}% <= target {100 * settings.target_rel_error:g}%)")
        return out
    why = (f"{100 * rel:.2f}% <= target {100 * settings.target_rel_error:g}% but the transition is not resolved: "
           f"no point with 0 < P_succ < 1 measured between m = {unresolved[0]:.4g} and {unresolved[1]:.4g}" if precise
           else f"{100 * rel:.2f}% > target {100 * settings.target_rel_error:g}%")
    if last_round:
        out.update(status=STATUS_MAX_ROUNDS, message=f"m_c = {est['m_c']:.4g} +- {est['m_c_err']:.2g} ({why}): "
                                                      f"not converged in max_rounds = {settings.max_rounds} rounds")
        return out
    log_mc = math.log(est["m_c"])
    width = est["width"]
    below, above = sides_of(measured, est["m_c"])
    gap = math.log(min(above) / max(below)) if below and above else math.log(hi / lo)
    if not (math.isfinite(width) and width > 0):
        # separated data (m_c interpolated): the transition is narrower than
        # the measured gap around it; model it as a logistic that spans it
        width = max(gap, settings.lattice) / 4
    # An unresolved transition is refined inside its gap first: elsewhere a
    # point cannot test the logistic shape the error rests on.
    if unresolved:
        candidates = gap_points(*unresolved, settings.lattice)
    else:
        candidates = lattice_between(lo, hi, settings.lattice)
    points = choose_points(measured, seeds, log_mc, width, candidates, settings.points_per_round)
    if not points:
        out.update(status=STATUS_EXHAUSTED, message=f"m_c = {est['m_c']:.4g} +- {est['m_c_err']:.2g} ({100 * rel:.2f}%): every lattice point of [{lo}, {hi}] is measured")
        return out
    out.update(next=points, status=STATUS_CONTINUE, message=f"m_c = {est['m_c']:.4g} +- {est['m_c_err']:.2g} ({why}): next m = {_fmt(points)}")
    return out


def sides_of(measured: Sequence[int], m_c: float) -> tuple[list[int], list[int]]:
    """The measured m at or below m_c and at or above it (a point at m_c is
    on both sides)."""
    return [m for m in measured if m <= m_c], [m for m in measured if m >= m_c]


def unresolved_gap(measured: Sequence[int], psucc: Mapping[int, float], m_c: float, step: float) -> tuple[float, float] | None:
    """Where the transition around m_c is not resolved: the open interval
    of m in which a measured point is missing, or None when it is resolved.

    A fit through a transition that no measured point resolves rests on the
    logistic shape alone, and its bootstrap error, which resamples the
    seeds at the measured points, does not see that: P_succ = 0 at the
    point below and 1 at the point above are the same in every resample.
    Each side of m_c needs a measured point with 0 < P_succ < 1 (any such
    point: with few seeds P_succ is not monotone in m). A side without one
    leaves open the interval between m_c and the nearest point measured on
    that side (both sides: the interval between those two points), unless
    no lattice point lies inside it (the lattice cannot do better)."""
    below, above = sides_of(measured, m_c)
    if not below or not above:
        return None
    m_b, m_a = max(below), min(above)
    lower_open = not any(0.0 < psucc[m] < 1.0 for m in below)
    upper_open = not any(0.0 < psucc[m] < 1.0 for m in above)
    if not (lower_open or upper_open):
        return None
    low = m_b if lower_open else m_c
    high = m_a if upper_open else m_c
    if not gap_points(low, high, step):
        return None
    return float(low), float(high)


def gap_points(low: float, high: float, step: float) -> list[int]:
    """The lattice points strictly inside (low, high)."""
    return [m for m in lattice_between(low, high, step) if low < m < high]


def added_points(state: Mapping) -> list[int]:
    """The m values that the round after a state measures for the first
    time: all of a start plan's, a decision's ``next`` values (a round's
    new points share training jobs: ``points_per_job``)."""
    if "status" not in state:  # a start plan (its points are to be measured)
        return round_points(state)
    return sorted(set(int(m) for m in state.get("next", [])) - set(int(m) for m in state["points"]))


def rounds_added(states: Sequence[Mapping]) -> list[list[int]]:
    """The m values each round of one size added (:func:`added_points`),
    from its start plan and its decisions in order: a round follows the
    start plan and each decision that continues."""
    return [added_points(state) for state in states if state.get("status", STATUS_CONTINUE) == STATUS_CONTINUE]


def round_points(state: Mapping) -> list[int]:
    """The m values measured by the round after a state (the start plan's
    points for round 0; a decision's points and next for the rounds after)."""
    return sorted(set(int(m) for m in state["points"]) | set(int(m) for m in state.get("next", [])))
