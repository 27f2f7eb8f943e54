__version__ = "0.1.0"

def __getattr__(name):
    "`nas_lt.load_model(path)`: the network a model.pt describes, with its weights (see `nas_lt.learner.load_model`)"
    if name == 'load_model':
        from .learner import load_model
        return load_model
    raise AttributeError(f"module 'nas_lt' has no attribute {name!r}")
