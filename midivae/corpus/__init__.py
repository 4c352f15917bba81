"""Note corpora: fluidsynth renders of FluidR3_GM (training) and MuseScore_General (dev-test).

``build_corpus`` renders, frames and labels one instrument's corpus into a folder of
``.npz`` shards plus ``manifest.json``; ``load_corpus`` reads it back; ``MixtureSampler``
makes multi-instrument frames at training time; ``Augmentation`` offers training-time
augmentations. No torch here.
"""

from midivae.corpus.augment import Augmentation
from midivae.corpus.build import build_corpus
from midivae.corpus.instruments import INSTRUMENTS, MELODY_INSTRUMENTS, MIXTURES, get_instrument
from midivae.corpus.labels import DYNAMICS_EDGES, DYNAMICS_NAMES, dynamics_class
from midivae.corpus.mixtures import MixtureBatch, MixtureSampler
from midivae.corpus.render import RENDER_GAIN, SOUNDFONTS
from midivae.corpus.store import Corpus, load_corpus, read_manifest

__all__ = [
    "DYNAMICS_EDGES",
    "DYNAMICS_NAMES",
    "INSTRUMENTS",
    "MELODY_INSTRUMENTS",
    "MIXTURES",
    "RENDER_GAIN",
    "SOUNDFONTS",
    "Augmentation",
    "Corpus",
    "MixtureBatch",
    "MixtureSampler",
    "build_corpus",
    "dynamics_class",
    "get_instrument",
    "load_corpus",
    "read_manifest",
]
