"""HBI model package: data (synthclips), model, train, eval, export."""
