"""The effectiveness page: churn over time, warnings, save rate and task outcomes, in the viewer's scope."""
