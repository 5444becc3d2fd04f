"""Networks for tabular data from the deep-learning literature that competes with gradient
boosting: a ResNet-style MLP and FT-Transformer (Gorishniy et al. 2021), and TabM, an
ensemble of MLPs sharing their weights (Gorishniy et al. 2025), each with optional
numerical-feature embeddings (Gorishniy et al. 2022).

Every model takes the prepared columns (standardized numbers, missing flags, one-hot
categories). ``num_embeddings`` turns each column into a vector first: ``linear``,
``piecewise`` (quantile bins fitted on the training rows, saved in the model) or
``periodic``. The layers are ``zoo.core.layers``'s, registered as serializable, so the
saved models reload in safe mode and train on every Keras backend.
"""

from __future__ import annotations

from zoo.plugin import InvalidParameterError, hookimpl, tabular_layers

# zoo.core.layers.EMBEDDING_CHOICES, spelled out for the search spaces: that module imports
# Keras, which a plugin module must not at import time.
EMBEDDING_CHOICES = ("none", "linear", "piecewise", "periodic")


def _embedded(keras, spec, num_embeddings: str, dim: int, frequency_scale: float, *, flat: bool):
    """The model's input and the tensor its first block takes: the prepared columns, or
    their per-column vectors (flattened for an MLP, tokens for a transformer)."""
    if len(spec.input_shape) != 1:
        raise InvalidParameterError(
            f"These networks take tabular rows (one dimension); received input shape "
            f"{spec.input_shape}. Use mlp or cnn for images."
        )
    inputs = keras.Input(spec.input_shape)
    embedding = tabular_layers().column_embedding(
        num_embeddings, dim, spec.input_shape, frequency_scale
    )
    if embedding is None:
        return inputs, inputs
    vectors = embedding(inputs)
    return inputs, keras.layers.Flatten()(vectors) if flat else vectors


def _output(keras, spec, x):
    return keras.layers.Dense(spec.output_units, spec.output_activation, name="output")(x)


def build_resnet(
    spec,
    width: int = 128,
    blocks: int = 2,
    dropout: float = 0.15,
    num_embeddings: str = "periodic",
    embedding_dim: int = 8,
    frequency_scale: float = 0.1,
):
    """A tabular ResNet (Gorishniy et al. 2021): residual blocks of BatchNorm, Dense (2 x
    width), ReLU, dropout, Dense (width), then BatchNorm, ReLU and the output layer.

    Args:
        width: units of the residual stream.
        blocks: number of residual blocks.
        dropout: dropout inside each block.
        num_embeddings: column embeddings first: none, linear, piecewise or periodic.
        embedding_dim: size of each column's embedding vector.
        frequency_scale: periodic embeddings: the spread of their initial frequencies (the
            paper's sigma, the setting they are most sensitive to).
    """
    import keras

    inputs, x = _embedded(keras, spec, num_embeddings, embedding_dim, frequency_scale, flat=True)
    x = keras.layers.Dense(width)(x)
    for _ in range(blocks):
        h = keras.layers.BatchNormalization()(x)
        h = keras.layers.Dense(2 * width, activation="relu")(h)
        h = keras.layers.Dropout(dropout)(h)
        x = keras.layers.Add()([x, keras.layers.Dense(width)(h)])
    x = keras.layers.Activation("relu")(keras.layers.BatchNormalization()(x))
    return keras.Model(inputs, _output(keras, spec, x), name="resnet")


def build_ft_transformer(
    spec,
    dim: int = 32,
    blocks: int = 2,
    heads: int = 4,
    attention_dropout: float = 0.2,
    ffn_dropout: float = 0.1,
    num_embeddings: str = "linear",
    frequency_scale: float = 0.1,
):
    """FT-Transformer (Gorishniy et al. 2021): every column becomes a token, a class token
    joins them, pre-norm transformer blocks mix them, and the class token predicts.

    Args:
        dim: size of each token (a multiple of heads); 32 keeps a 10,000-row file's default
            run near a minute on two CPU cores (the paper's 192 is for GPUs).
        blocks: number of transformer blocks.
        heads: attention heads.
        attention_dropout: dropout of the attention weights.
        ffn_dropout: dropout inside each block's feed-forward part (4/3 x dim, GELU).
        num_embeddings: how columns become tokens: linear, piecewise or periodic.
        frequency_scale: periodic embeddings: the spread of their initial frequencies (the
            paper's sigma, the setting they are most sensitive to).
    """
    import keras

    if num_embeddings == "none" or dim % heads:
        raise InvalidParameterError(
            f"ft-transformer needs column tokens (num_embeddings linear, piecewise or "
            f"periodic, received {num_embeddings!r}) and dim a multiple of heads (received "
            f"dim={dim}, heads={heads}); set them so."
        )
    inputs, x = _embedded(keras, spec, num_embeddings, dim, frequency_scale, flat=False)
    x = tabular_layers().ClassToken(name="class_token")(x)
    columns = spec.input_shape[0]
    for block in range(blocks):
        h = keras.layers.LayerNormalization()(x)
        attention = keras.layers.MultiHeadAttention(heads, dim // heads, dropout=attention_dropout)
        if block == blocks - 1:
            # Only the class token predicts: the last block updates it alone (as in the
            # paper), a third of the block's cost.
            x = keras.layers.Cropping1D((0, columns))(x)
            x = keras.layers.Add()([x, attention(keras.layers.Cropping1D((0, columns))(h), h)])
        else:
            x = keras.layers.Add()([x, attention(h, h)])
        h = keras.layers.LayerNormalization()(x)
        h = keras.layers.Dense(dim * 4 // 3, activation="gelu")(h)
        h = keras.layers.Dense(dim)(keras.layers.Dropout(ffn_dropout)(h))
        x = keras.layers.Add()([x, h])
    x = keras.layers.Flatten()(x)  # the class token
    x = keras.layers.Activation("relu")(keras.layers.LayerNormalization()(x))
    return keras.Model(inputs, _output(keras, spec, x), name="ft_transformer")


def build_tabm(
    spec,
    width: int = 256,
    depth: int = 3,
    members: int = 16,
    dropout: float = 0.1,
    num_embeddings: str = "piecewise",
    embedding_dim: int = 8,
    frequency_scale: float = 0.1,
):
    """TabM (Gorishniy et al. 2025): ``members`` MLPs in one, BatchEnsemble-style (shared
    weights, per-member adapter vectors); their predictions are averaged.

    Args:
        width: units of each hidden layer.
        depth: number of hidden layers.
        members: how many implicit MLPs (k).
        dropout: dropout after each hidden layer.
        num_embeddings: column embeddings first: none, linear, piecewise or periodic.
        embedding_dim: size of each column's embedding vector.
        frequency_scale: periodic embeddings: the spread of their initial frequencies (the
            paper's sigma, the setting they are most sensitive to).
    """
    import keras

    inputs, x = _embedded(keras, spec, num_embeddings, embedding_dim, frequency_scale, flat=True)
    ensemble = tabular_layers().EnsembleMLP(
        width, depth, members, dropout, spec.output_units, spec.output_activation, name="tabm"
    )
    return keras.Model(inputs, ensemble(x), name="tabm")


EMBEDDINGS = {"num_embeddings": {"choices": list(EMBEDDING_CHOICES)}}
EMBEDDING_RANGES = {"embedding_dim": "[1, inf)", "frequency_scale": "(0, inf)"}
TABM_SPACE = {
    "width": {"choices": [128, 256, 512]},
    "depth": {"low": 1, "high": 4},
    "members": {"choices": [8, 16, 32]},
    "dropout": {"low": 0.0, "high": 0.5},
    **EMBEDDINGS,
    "embedding_dim": {"choices": [4, 8, 16]},
}


# As the papers train them: AdamW with weight decay, batches growing with the data set.
PAPER_TRAINING = {"preset": "adamw", "batch_size": "auto"}
# A single network (resnet, ft-transformer) also averages 5 seeds' models on a small
# training part, where one seed's score is partly luck; tabm is an ensemble already.
SINGLE_NETWORK_TRAINING = {**PAPER_TRAINING, "seed_ensemble": "auto"}


@hookimpl
def register_models(register):
    register(
        "resnet",
        build_resnet,
        description="Tabular ResNet-MLP (Gorishniy et al. 2021), periodic column embeddings",
        input_kinds=("tabular",),
        **SINGLE_NETWORK_TRAINING,
        ranges={
            "width": "[1, inf)",
            "blocks": "[0, inf)",
            "dropout": "[0, 1)",
            **EMBEDDING_RANGES,
        },
        # Periodic embeddings are what makes this model (ResNet-PLR): the search tunes them,
        # as the paper does, rather than trading them for another kind.
        search_space={
            "width": {"choices": [64, 128, 256]},
            "blocks": {"low": 1, "high": 4},
            "dropout": {"low": 0.0, "high": 0.5},
            "embedding_dim": {"choices": [4, 8, 16]},
            "frequency_scale": {"low": 0.01, "high": 1.0, "log": True},
        },
    )
    register(
        "ft-transformer",
        build_ft_transformer,
        description="FT-Transformer (Gorishniy et al. 2021): attention over column tokens",
        input_kinds=("tabular",),
        **SINGLE_NETWORK_TRAINING,
        ranges={
            "dim": "[1, inf)",
            "blocks": "[1, inf)",
            "heads": "[1, inf)",
            "attention_dropout": "[0, 1)",
            "ffn_dropout": "[0, 1)",
            "frequency_scale": EMBEDDING_RANGES["frequency_scale"],
        },
        search_space={
            "dim": {"choices": [32, 64, 128]},
            "blocks": {"low": 1, "high": 4},
            "attention_dropout": {"low": 0.0, "high": 0.5},
            "ffn_dropout": {"low": 0.0, "high": 0.5},
            "num_embeddings": {"choices": ["linear", "piecewise", "periodic"]},
        },
    )
    register(
        "tabm",
        build_tabm,
        description="TabM (Gorishniy et al. 2025): k weight-sharing MLPs, averaged",
        input_kinds=("tabular",),
        **PAPER_TRAINING,
        ranges={
            "width": "[1, inf)",
            "depth": "[1, inf)",
            "members": "[1, inf)",
            "dropout": "[0, 1)",
            **EMBEDDING_RANGES,
        },
        search_space=TABM_SPACE,
    )
