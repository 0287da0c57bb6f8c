"""Pipeline steps: one module per recipe step name."""
