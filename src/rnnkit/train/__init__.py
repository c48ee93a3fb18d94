"""Training: the Trainer, truncated BPTT over streams, callbacks, checkpoints.

trainer      Trainer: the loop (one step, one epoch, validation)
resume       Trainer.save / Trainer.load: the whole training state, bit-exact resume
resume_from  ResumeFrom: a callback asking fit to continue from a saved trainer
faults       the fault policy: a non-finite value ends training as a clean stop
divergence   the divergence guard: a loss that runs away warns, or stops the same way
config       TrainConfig, validated on construction
settings     the training settings declared once (defaults, types, help, checks)
bptt         TBPTT(k1, k2): truncated backpropagation through time over streams
streams      Stream and Chunk: long sequences cut into windows, state carried across
callbacks    History, EarlyStopping, CheckpointEvery, MetricLog, LambdaCallback
checkpoint   the pickle-free, versioned, atomic file format (arrays + JSON manifest)
rngstate     random generator states as JSON, for checkpoints
progress     the progress bar (in place on a terminal or in Jupyter, whole lines elsewhere)
trackers     TensorBoard and MLflow as callbacks (the tensorboard and mlflow extras)
"""

from .bptt import TBPTT
from .config import TrainConfig
from .faults import TrainingError
from .resume_from import ResumeFrom
from .trainer import Trainer, minibatches

__all__ = ["Trainer", "TrainConfig", "TrainingError", "TBPTT", "ResumeFrom", "minibatches"]
