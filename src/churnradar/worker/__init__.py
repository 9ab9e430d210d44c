"""The in-process scheduler behind `churnradar worker`: which job is due when, and the jobs themselves."""
