"""Note corpora: fluidsynth renders of FluidR3_GM (training) and MuseScore_General (dev-test).

``build_corpus`` renders, frames and labels one instrument's corpus into a folder of
``.npz`` shards plus ``manifest.json``; ``load_corpus`` reads it back; ``MixtureSampler``
makes multi-instrument frames at training time; ``Augmentation`` offers training-time
augmentations. No torch here; instruments and dynamics classes live in :mod:`midivae.music`.
"""

from midivae.training.corpus.augment import Augmentation
from midivae.training.corpus.build import build_corpus
from midivae.training.corpus.mixtures import MixtureBatch, MixtureSampler
from midivae.training.corpus.render import RENDER_GAIN, SOUNDFONTS
from midivae.training.corpus.store import Corpus, load_corpus, read_manifest

__all__ = [
    "RENDER_GAIN",
    "SOUNDFONTS",
    "Augmentation",
    "Corpus",
    "MixtureBatch",
    "MixtureSampler",
    "build_corpus",
    "load_corpus",
    "read_manifest",
]
