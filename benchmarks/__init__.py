"""The planner benchmark: a generated suite, the Class Cruncher baseline and the runner."""
