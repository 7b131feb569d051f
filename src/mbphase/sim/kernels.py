"""The kernel registry: the student models, which Numba kernel runs each,
with which arguments and from which initial weights. The one place that
knows it; the options' allowed architectures and weights
(:mod:`mbphase.sim.params`), the runner (:func:`mbphase.sim.run.run_kernel`),
the compile warm-up, the workflow (which kernel sources a training job
depends on) and the benchmarks all ask here.

A model is an (architecture, weights) pair (``RunParams.model`` joins them
with '_'). The kernels of a model are tried in :data:`KERNELS` order and the
first whose ``eligible`` accepts the parameters runs: at small m the
replica-packed greedy kernel (several runs per word, sharing proposals), else
the bit-packed greedy kernel for the +-1 students it supports, the general greedy kernel for every
other discrete student, SGD for continuous ones. Every kernel takes keyword
arguments, built by its ``arguments`` function from the parameters and the
per-seed inputs.

Kept light: the kernel modules are imported only when a kernel is called, so
that the workflow can read the registry while it parses.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

import numpy as np

if TYPE_CHECKING:  # params imports this module for the models
    from .params import RunParams


@dataclass(frozen=True)
class Kernel:
    """One kernel: ``module.function``, the (architecture, weights) models it
    runs, when it applies within them, how its arguments are built, the
    student's initial weights, the option that is its time budget
    (``max_sweeps``: proposals in sweeps, trajectories record acceptance
    rates; ``sgd_steps``: SGD steps, from ``max_steps`` or the budget in
    samples per weight, trajectories record the loss) and tiny
    example runs (option overrides) that together compile every variant it
    has (the warm-up)."""

    module: str  # module of mbphase.sim
    function: str
    models: tuple[tuple[str, str], ...]
    arguments: Callable  # (p, inputs, traj_times, scalars, traj) -> keyword arguments
    initial: Callable  # (p, numpy Generator) -> (K, fan_in) initial student weights
    budget: str  # an option or property of RunParams
    examples: tuple[dict, ...]
    eligible: Callable[[RunParams], bool] = lambda p: True
    # (p, seed) -> the seed whose dynamics stream makes run seed's proposals
    proposal_seed: Callable[[RunParams, int], int] = lambda p, seed: seed

    @property
    def name(self) -> str:
        """Qualified name, e.g. mbphase.sim.greedy.greedy_many."""
        return f"{__package__}.{self.module}.{self.function}"

    def load(self):
        """The kernel function (imports its module)."""
        return getattr(importlib.import_module(f"{__package__}.{self.module}"), self.function)


def _shared(p: RunParams, inputs, traj_times, scalars, traj) -> dict:
    """The arguments every kernel takes: teacher, student, data, budgets of
    the observables, the three streams per seed and the output arrays."""
    from .teacher import task_code

    return dict(
        T=inputs.teacher_weights, t_fields=inputs.teacher_fields, task=task_code(p.task), n_inputs=p.n_inputs,
        W=inputs.student_weights, w_inputs=inputs.student_inputs, m=p.m,
        train_size=p.train_size if p.data == "finite" else 0, stop_at_success=p.stop_at_success, n_test=p.n_test,
        traj_times=traj_times, states=inputs.states, scalars=scalars, traj=traj,
    )


def _greedy_bits_arguments(p: RunParams, *args) -> dict:
    from .observables import weights_decide_success

    return dict(
        _shared(p, *args), check_function=not weights_decide_success(p.architecture, p.topology, p.K),
        refresh_proposal=p.refresh == "proposal", sequential=p.order == "sequential",
        temperature=p.temperature, max_sweeps=p.max_sweeps,
    )


def _greedy_replicas_arguments(p: RunParams, inputs, traj_times, scalars, traj) -> dict:
    from .greedy_replicas import group_size, pack_groups

    args = _greedy_bits_arguments(p, inputs, traj_times, scalars, traj)
    for unused in ("train_size", "temperature"):  # online data, zero temperature only
        del args[unused]
    groups = pack_groups(inputs.proposal_seeds, group_size(p.m))
    return dict(args, groups=groups, prop_states=inputs.proposal_states[groups[:, 0]].copy())


def _greedy_arguments(p: RunParams, *args) -> dict:
    dense = p.architecture == "dense"
    return dict(_greedy_bits_arguments(p, *args), ternary=dense, dense=dense, gaussian=p.inputs == "gaussian")


def _sgd_arguments(p: RunParams, *args) -> dict:
    return dict(
        _shared(p, *args), dense=p.architecture == "dense", gaussian=p.inputs == "gaussian", lr=p.lr,
        logistic=p.loss == "logistic", max_steps=p.sgd_steps, eval_every=p.eval_every,
        success_threshold=p.success_threshold,
    )


def _discrete_initial(p: RunParams, rng: np.random.Generator) -> np.ndarray:
    """Uniform over the allowed values: +-1 (sparse), {-1, 0, +1} (dense)."""
    values = np.array([-1.0, 1.0]) if p.architecture == "sparse" else np.array([-1.0, 0.0, 1.0])
    return rng.choice(values, size=(p.K, p.fan_in))


def _normal_initial(p: RunParams, rng: np.random.Generator) -> np.ndarray:
    """N(0, 1) per weight."""
    return rng.standard_normal((p.K, p.fan_in))


def _replicas_eligible(p: RunParams) -> bool:
    from .greedy_replicas import replicas_eligible

    return replicas_eligible(p)


def _replicas_proposal_seed(p: RunParams, seed: int) -> int:
    from .greedy_replicas import replica_group

    return replica_group(seed, p.m)[1]


def _bits_eligible(p: RunParams) -> bool:
    from .greedy_bits import bits_eligible

    return bits_eligible(p)


_TINY = dict(K=3, d=3, m=4, n_test=16)
_FINITE_T = dict(topology="random", data="finite", train_size=8, temperature=1.0)

KERNELS = {
    # greedy_bits' runs at small m (online, zero temperature), 64 // m runs
    # per word sharing their proposals: several times faster per pattern
    "greedy_replicas": Kernel(
        "greedy_replicas", "greedy_replicas_many", (("sparse", "discrete"),), _greedy_replicas_arguments, _discrete_initial,
        "max_sweeps", examples=(dict(_TINY, max_sweeps=3, trajectory_points=2), dict(_TINY, topology="random", N=11, max_sweeps=3)),
        eligible=_replicas_eligible, proposal_seed=_replicas_proposal_seed,
    ),
    # sparse +-1 students on binary inputs: bit-packed, the same results as greedy
    "greedy_bits": Kernel(
        "greedy_bits", "greedy_bits_many", (("sparse", "discrete"),), _greedy_bits_arguments, _discrete_initial, "max_sweeps",
        examples=(dict(_TINY, m=40, max_sweeps=3, trajectory_points=2), dict(_TINY, **_FINITE_T, N=7, max_sweeps=3)),
        eligible=_bits_eligible,
    ),
    "greedy": Kernel(
        "greedy", "greedy_many", (("sparse", "discrete"), ("dense", "discrete")), _greedy_arguments, _discrete_initial, "max_sweeps",
        examples=(
            dict(_TINY, **_FINITE_T, architecture="dense", K=1, N=5, max_sweeps=3),
            dict(_TINY, inputs="gaussian", max_sweeps=3, trajectory_points=2),
        ),
    ),
    "sgd": Kernel(
        "sgd", "sgd_many", (("sparse", "continuous"), ("dense", "continuous")), _sgd_arguments, _normal_initial, "sgd_steps",
        examples=(
            dict(_TINY, weights="continuous", max_steps=4, eval_every=2, trajectory_points=2),
            dict(_TINY, architecture="dense", weights="continuous", topology="random", K=1, N=5, data="finite",
                 train_size=8, loss="logistic", max_steps=4, eval_every=2),
        ),
    ),
}


MODELS = tuple(dict.fromkeys(model for kernel in KERNELS.values() for model in kernel.models))
"""Every (architecture, weights) model some kernel runs."""
ARCHITECTURES = tuple(dict.fromkeys(a for a, _ in MODELS))
WEIGHTS = tuple(dict.fromkeys(w for _, w in MODELS))


def kernel_for(p: RunParams) -> Kernel:
    """The kernel that runs ``p``."""
    for kernel in KERNELS.values():
        if (p.architecture, p.weights) in kernel.models and kernel.eligible(p):
            return kernel
    raise ValueError(f"no kernel runs model '{p.model}'")


def kernel_modules(models) -> set[str]:
    """Modules of mbphase.sim holding a kernel that may run one of ``models``
    ((architecture, weights) pairs)."""
    return {kernel.module for kernel in KERNELS.values() if set(kernel.models) & set(models)}
