"""The panel titles of the figures in physics terms, without the plotting
libraries: the workflow reads them while it parses (common.smk), where
importing matplotlib and seaborn would cost seconds of every dry run."""

from __future__ import annotations


def physics_title(params) -> str:
    """A title for an experiment's model and task from its run parameters
    (:class:`mbphase.sim.params.RunParams`): the student, the task and K,
    then the teacher's wiring, finite data and temperature, on two lines,
    e.g. "sparse discrete committee, K = 3" and "tree teacher".
    """
    machine = "perceptron" if params.K == 1 else f"{params.task}, K = {params.K}"
    details = [f"{params.topology} teacher"]
    if getattr(params, "data", "online") == "finite":
        details.append(f"P = {params.train_size} patterns")
    if getattr(params, "temperature", 0.0) > 0:
        details.append(f"T = {params.temperature:g}")
    return f"{params.architecture} {params.weights} {machine}\n" + ", ".join(details)
