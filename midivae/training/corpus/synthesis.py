"""The project's own synthesiser: training sound from no sample library.

Every voice is a :class:`Timbre` drawn from a seed within ranges that cover its instrument
family (breathy flutes, bowed strings with body resonances, reeds with strong formants and an
odd/even balance, bright brass, struck and inharmonic pianos), so a model trained on it cannot
learn one library's fingerprint. A note is a bank of partials, each a sum of complex
exponentials (a steady or decaying sinusoid, minus a decaying copy for a rising attack); the
bank is evaluated chunk by chunk as one complex matrix product, so a note's cost hardly
depends on how many partials it has. Partials stop at 0.45 of the sample rate (no aliasing).
Noise (an attack transient, breath or bow noise following the note) is band-shaped and kept
20-40 dB under the harmonic part. Levels follow a SoundFont player: ``40 log10(v / 127)`` dB,
an ff note (velocity 112) peaking near 0.2; brightness rises with velocity too.

Pitch is exactly the note's MIDI pitch (A4 = 440 Hz); only the piano's partials are stretched
above its fundamental (``f_n = n f0 sqrt(1 + B n^2) / sqrt(1 + B)``). Vibrato, tuning, reverb
and the like are applied elsewhere.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.fft

from midivae.music import Instrument
from midivae.training.corpus.content import Note

#: Partials a voice describes (its per-partial gains); higher ones are never synthesised.
MAX_PARTIALS = 128
#: Highest partial frequency, as a share of the sample rate.
NYQUIST_SHARE = 0.45
#: Peak of a note at velocity 127, level 0 dB: velocity 112 then peaks near 0.2 (-14 dBFS).
PEAK_AT_127 = 0.2 * (127 / 112) ** 2
#: Partials this far under a note's strongest one are left out.
FLOOR_DB = -80.0
#: Samples per chunk of the partial bank.
CHUNK = 512
#: A release falls this many dB, then ends in a short fade to exact silence.
RELEASE_DB = 60.0
#: Most a sustained note's swell or decay changes its level, in dB (down, up).
SWELL_LIMITS_DB = (-9.0, 3.0)
SUSTAINED, STRUCK = "sustained", "struck"

Formant = tuple[float, float, float]  # centre Hz, bandwidth Hz, gain dB


@dataclass(frozen=True)
class Timbre:
    """One synthetic instrument voice, drawn from a seed: everything that shapes its sound.

    Partial ``n`` (1-based) of a note at ``f0`` has the gain, in dB,
    ``-20 slope log10 n + partial_db[n - 1] + (even_db if n is even) + formants(f_n)
    + brightness(f_n, velocity) + strike comb``; brightness is a low-pass knee at
    ``cutoff_hz`` (at velocity 127, ``velocity_octaves`` lower at velocity 0) falling
    ``rolloff_db_per_octave`` above it. Times are seconds; decays are time constants at
    middle C that shrink by ``2 ** -decay_per_octave`` per octave up.
    """

    archetype: str  # breathy, bowed, reed, brass or struck
    kind: str  # "sustained" (wind, bowed) or "struck" (piano)
    slope: float  # partial amplitudes fall as n ** -slope
    partial_db: tuple[float, ...]  # a gain per partial (MAX_PARTIALS of them)
    formants: tuple[Formant, ...]  # resonances: centre Hz, bandwidth Hz, gain dB
    even_db: float  # gain of the even partials against the odd ones
    cutoff_hz: float  # brightness knee at velocity 127
    rolloff_db_per_octave: float  # fall above the knee
    velocity_octaves: float  # how far the knee drops from velocity 127 to 0
    inharmonicity: float  # B at middle C (0: harmonic)
    inharmonicity_per_octave: float  # B grows by 2 ** this per octave above middle C
    inharmonicity_bass_per_octave: float  # and shrinks by 2 ** this per octave below it
    strike_position: float  # where the hammer hits the string (0: no comb)
    attack: float  # time for the fundamental to reach ~95 % (sustained) or the onset ramp
    attack_spread: float  # upper partials' attacks are longer by (1 + spread log2 n)
    transient_db: float  # noise burst at the onset, against the harmonic part's RMS
    transient_hz: float  # its band centre
    transient_octaves: float  # its band width (standard deviation in octaves)
    transient_seconds: float  # its decay time constant
    noise_db: float  # breath or bow noise following the note, against the harmonic RMS
    noise_hz: float
    noise_octaves: float
    swell_db_per_second: float  # sustained: slow swell (+) or decay (-) while held
    release: float  # seconds after note-off to fall RELEASE_DB (dampers, for struck)
    decay_fast: float  # struck: prompt-sound time constant at middle C
    decay_slow: float  # struck: aftersound time constant at middle C
    aftersound_db: float  # struck: share of the slow stage at the onset
    decay_per_octave: float  # struck: decays shorten by 2 ** -this per octave up
    partial_damping: float  # struck: partial n decays (1 + damping (n - 1)) times faster
    velocity_db: float  # level curve: gain = velocity_db * log10(v / 127) dB
    level_db: float  # the voice's level against the reference

    def gain_db(self, velocity: int) -> float:
        """The level of a note at ``velocity`` against velocity 127, in dB."""
        return self.level_db + self.velocity_db * float(np.log10(max(velocity, 1) / 127))


# Ranges (low, high) per archetype; formants list (centre, bandwidth, gain) ranges, of which
# the first ``FORMANT_COUNTS`` are drawn.
_COMMON: dict[str, tuple[float, float]] = {
    "velocity_db": (36.0, 44.0),
    "level_db": (-1.5, 1.5),
}
_ARCHETYPES: dict[str, dict[str, tuple[float, float]]] = {
    "breathy": {  # flutes: few partials, breath noise, soft chiff
        "slope": (1.2, 2.6),
        "jitter_db": (1.0, 4.0),
        "even_db": (-2.0, 5.0),
        "cutoff_hz": (1200.0, 3500.0),
        "rolloff_db_per_octave": (12.0, 24.0),
        "velocity_octaves": (0.8, 2.0),
        "attack": (0.04, 0.14),
        "attack_spread": (0.0, 0.3),
        "transient_db": (-38.0, -26.0),
        "transient_hz": (1500.0, 5000.0),
        "transient_octaves": (1.0, 2.0),
        "transient_seconds": (0.01, 0.04),
        "noise_db": (-30.0, -20.0),
        "noise_hz": (1500.0, 6000.0),
        "noise_octaves": (1.0, 2.5),
        "swell_db_per_second": (-3.0, 2.0),
        "release": (0.06, 0.2),
    },
    "bowed": {  # violins: rich, body resonances, irregular partials, bow noise
        "slope": (0.6, 1.3),
        "jitter_db": (3.0, 7.0),
        "even_db": (-3.0, 2.0),
        "cutoff_hz": (3500.0, 9000.0),
        "rolloff_db_per_octave": (12.0, 24.0),
        "velocity_octaves": (0.5, 1.5),
        "attack": (0.03, 0.15),
        "attack_spread": (0.0, 0.4),
        "transient_db": (-36.0, -24.0),
        "transient_hz": (2000.0, 6000.0),
        "transient_octaves": (1.0, 2.0),
        "transient_seconds": (0.01, 0.05),
        "noise_db": (-34.0, -22.0),
        "noise_hz": (1000.0, 5000.0),
        "noise_octaves": (1.5, 3.0),
        "swell_db_per_second": (-2.0, 3.0),
        "release": (0.08, 0.3),
    },
    "reed": {  # saxophones: strong formants, odd/even balance
        "slope": (0.7, 1.5),
        "jitter_db": (2.0, 5.0),
        "even_db": (-9.0, 1.0),
        "cutoff_hz": (2500.0, 6500.0),
        "rolloff_db_per_octave": (12.0, 30.0),
        "velocity_octaves": (0.8, 2.0),
        "attack": (0.02, 0.08),
        "attack_spread": (0.1, 0.5),
        "transient_db": (-36.0, -26.0),
        "transient_hz": (800.0, 3000.0),
        "transient_octaves": (1.0, 2.0),
        "transient_seconds": (0.005, 0.03),
        "noise_db": (-36.0, -24.0),
        "noise_hz": (1500.0, 5000.0),
        "noise_octaves": (1.0, 2.5),
        "swell_db_per_second": (-3.0, 2.0),
        "release": (0.05, 0.2),
    },
    "brass": {  # trumpets: bright, many partials, upper partials late in the attack
        "slope": (0.3, 0.9),
        "jitter_db": (1.0, 4.0),
        "even_db": (-2.0, 2.0),
        "cutoff_hz": (2500.0, 8000.0),
        "rolloff_db_per_octave": (18.0, 36.0),
        "velocity_octaves": (1.2, 2.5),
        "attack": (0.015, 0.06),
        "attack_spread": (0.4, 1.0),
        "transient_db": (-34.0, -24.0),
        "transient_hz": (500.0, 2500.0),
        "transient_octaves": (1.0, 2.0),
        "transient_seconds": (0.005, 0.02),
        "noise_db": (-40.0, -30.0),
        "noise_hz": (1000.0, 4000.0),
        "noise_octaves": (1.5, 3.0),
        "swell_db_per_second": (-2.0, 2.0),
        "release": (0.05, 0.15),
    },
    "struck": {  # pianos: inharmonic, two-stage decay, hammer thump
        "slope": (0.6, 1.6),
        "jitter_db": (2.0, 6.0),
        "even_db": (-2.0, 2.0),
        "cutoff_hz": (1200.0, 4500.0),
        "rolloff_db_per_octave": (12.0, 24.0),
        "velocity_octaves": (1.0, 2.5),
        "inharmonicity": (1e-4, 6e-4),
        "inharmonicity_per_octave": (0.5, 1.0),
        "inharmonicity_bass_per_octave": (-0.1, 0.4),
        "strike_position": (1 / 9, 1 / 7),
        "attack": (0.001, 0.004),
        "transient_db": (-34.0, -20.0),
        "transient_hz": (200.0, 2500.0),
        "transient_octaves": (1.0, 2.5),
        "transient_seconds": (0.005, 0.03),
        "release": (0.1, 0.4),
        "decay_fast": (0.25, 1.2),
        "decay_slow": (2.0, 8.0),
        "aftersound_db": (-16.0, -6.0),
        "decay_per_octave": (0.4, 0.8),
        "partial_damping": (0.03, 0.2),
    },
}
_FORMANTS: dict[str, tuple[tuple[tuple[float, float], ...], ...]] = {
    "breathy": (((600.0, 3000.0), (300.0, 1500.0), (0.0, 6.0)),) * 2,
    "bowed": (
        ((250.0, 320.0), (60.0, 150.0), (3.0, 9.0)),
        ((400.0, 600.0), (100.0, 250.0), (3.0, 9.0)),
        ((900.0, 1600.0), (300.0, 800.0), (0.0, 6.0)),
        ((2000.0, 3500.0), (600.0, 1500.0), (4.0, 12.0)),
    ),
    "reed": (
        ((450.0, 900.0), (150.0, 400.0), (6.0, 14.0)),
        ((1200.0, 2000.0), (300.0, 700.0), (3.0, 10.0)),
        ((2500.0, 3800.0), (500.0, 1200.0), (0.0, 8.0)),
    ),
    "brass": (
        ((900.0, 1500.0), (300.0, 800.0), (4.0, 10.0)),
        ((2200.0, 3500.0), (600.0, 1500.0), (0.0, 6.0)),
    ),
    "struck": (
        ((300.0, 800.0), (200.0, 600.0), (0.0, 6.0)),
        ((1000.0, 2500.0), (500.0, 1500.0), (0.0, 6.0)),
        ((3000.0, 5000.0), (1000.0, 2500.0), (-6.0, 3.0)),
    ),
}
#: How many formants each archetype draws (inclusive range).
_FORMANT_COUNTS: dict[str, tuple[int, int]] = {
    "breathy": (1, 2),
    "bowed": (3, 4),
    "reed": (2, 3),
    "brass": (1, 2),
    "struck": (1, 3),
}
#: The archetype of each melody instrument; others draw any sustained archetype.
HOME_ARCHETYPE: dict[str, str] = {
    "flute": "breathy",
    "violin": "bowed",
    "alto_sax": "reed",
    "trumpet": "brass",
}
_SUSTAINED_ARCHETYPES = ("breathy", "bowed", "reed", "brass")


def draw_timbre(instrument: Instrument, seed: int) -> Timbre:
    """The voice ``seed`` of ``instrument``: struck for polyphonic instruments (piano),
    sustained otherwise, drawn from its family's ranges (``_ARCHETYPES``)."""
    rng = np.random.default_rng([zlib.crc32(instrument.name.encode()), int(seed) & 0xFFFFFFFF])
    if instrument.polyphonic:
        archetype = "struck"
    else:
        archetype = HOME_ARCHETYPE.get(instrument.name) or str(rng.choice(_SUSTAINED_ARCHETYPES))
    ranges = {**_COMMON, **_ARCHETYPES[archetype]}
    drawn = {key: float(rng.uniform(*bounds)) for key, bounds in ranges.items()}
    jitter = drawn.pop("jitter_db")
    partial_db = tuple(float(x) for x in np.clip(rng.normal(0.0, jitter, MAX_PARTIALS), -15, 10))
    low, high = _FORMANT_COUNTS[archetype]
    count = int(rng.integers(low, high + 1))
    formants = tuple(
        (float(rng.uniform(*c)), float(rng.uniform(*b)), float(rng.uniform(*g)))
        for c, b, g in _FORMANTS[archetype][:count]
    )
    struck = archetype == "struck"
    defaults = {
        "inharmonicity": 0.0,
        "inharmonicity_per_octave": 0.0,
        "inharmonicity_bass_per_octave": 0.0,
        "strike_position": 0.0,
        "attack_spread": 0.0,
        "noise_db": -120.0,
        "noise_hz": 1000.0,
        "noise_octaves": 1.0,
        "swell_db_per_second": 0.0,
        "decay_fast": 0.0,
        "decay_slow": 0.0,
        "aftersound_db": 0.0,
        "decay_per_octave": 0.0,
        "partial_damping": 0.0,
    }
    return Timbre(
        archetype=archetype,
        kind=STRUCK if struck else SUSTAINED,
        partial_db=partial_db,
        formants=formants,
        **{**defaults, **drawn},
    )


def _partials(
    timbre: Timbre, pitch: int, velocity: int, sample_rate: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Partial numbers, frequencies (Hz) and linear gains of one note, band-limited."""
    f0 = 440.0 * 2.0 ** ((pitch - 69) / 12)
    octaves = (pitch - 60) / 12
    n = np.arange(1, MAX_PARTIALS + 1, dtype=np.float64)
    growth = (
        timbre.inharmonicity_per_octave if octaves > 0 else timbre.inharmonicity_bass_per_octave
    )
    b = timbre.inharmonicity * 2.0 ** (growth * octaves)
    freq = n * f0 * np.sqrt(1.0 + b * n**2) / np.sqrt(1.0 + b)
    keep = freq < NYQUIST_SHARE * sample_rate
    n, freq = n[keep], freq[keep]
    db = -20.0 * timbre.slope * np.log10(n) + np.asarray(timbre.partial_db)[: len(n)]
    db += np.where(n % 2 == 0, timbre.even_db, 0.0)
    for centre, width, gain in timbre.formants:
        db += gain / (1.0 + ((freq - centre) / (0.5 * width)) ** 2)
    knee = timbre.cutoff_hz * 2.0 ** (-timbre.velocity_octaves * (1.0 - velocity / 127))
    order = timbre.rolloff_db_per_octave / (20.0 * np.log10(2.0))
    db -= 10.0 * order * np.log10(1.0 + (freq / knee) ** 2)
    if timbre.strike_position > 0:
        comb = np.maximum(np.abs(np.sin(np.pi * n * timbre.strike_position)), 0.03)
        db += 20.0 * np.log10(comb)
    keep = db >= db.max() + FLOOR_DB
    return n[keep], freq[keep], 10.0 ** (db[keep] / 20.0)


def _steady_peak(n: np.ndarray, gains: np.ndarray, phases: np.ndarray) -> float:
    """Peak of the harmonic approximation of a partial bank (one period, fine grid)."""
    grid = max(256, 8 * int(n.max()))
    t = np.arange(grid) / grid
    wave = gains @ np.cos(2.0 * np.pi * np.outer(n, t) + phases[:, None])
    return float(np.abs(wave).max())


def _bank(amplitudes: np.ndarray, rates: np.ndarray, length: int) -> np.ndarray:
    """``Re sum_j amplitudes[j] exp(rates[j] n)`` for ``n < length``, chunk by chunk."""
    chunks = -(-length // CHUNK)
    basis = np.exp(np.outer(rates, np.arange(CHUNK))).astype(np.complex64)
    starts = np.arange(chunks, dtype=np.float64) * CHUNK
    coefs = (amplitudes[None, :] * np.exp(np.outer(starts, rates))).astype(np.complex64)
    return (coefs @ basis).real.ravel()[:length].astype(np.float64)


def _band_noise(
    rng: np.random.Generator, length: int, centre: float, octaves: float, sample_rate: int
) -> np.ndarray:
    """Unit-RMS noise in a log-Gaussian band around ``centre`` Hz, band-limited."""
    size = scipy.fft.next_fast_len(max(length, 16), real=True)
    spectrum = scipy.fft.rfft(rng.standard_normal(size))
    freq = scipy.fft.rfftfreq(size, 1.0 / sample_rate)
    shape = np.exp(-0.5 * (np.log2(np.maximum(freq, 1.0) / centre) / octaves) ** 2)
    shape[freq > NYQUIST_SHARE * sample_rate] = 0.0
    noise = scipy.fft.irfft(spectrum * shape, size)[:length]
    rms = float(np.sqrt(np.mean(noise**2)))
    return noise / rms if rms > 0 else noise


def _envelope(timbre: Timbre, held: int, length: int, sample_rate: int) -> np.ndarray:
    """The gain common to a note's partials: onset ramp, swell, release to silence."""
    t = np.arange(length) / sample_rate
    ramp_seconds = timbre.attack if timbre.kind == STRUCK else 0.003
    env = np.minimum(1.0, t / ramp_seconds)
    env = 0.5 - 0.5 * np.cos(np.pi * env)
    if timbre.swell_db_per_second:
        swell = np.clip(timbre.swell_db_per_second * t, *SWELL_LIMITS_DB)
        env *= 10.0 ** (swell / 20.0)
    tail = length - held
    if tail > 0:
        after = np.arange(tail, dtype=np.float64)
        release = np.exp(-after / tail * RELEASE_DB / 20.0 * np.log(10.0))
        fade = max(1, tail // 5)
        release[-fade:] *= 0.5 + 0.5 * np.cos(np.pi * (np.arange(1, fade + 1) / fade))
        env[held:] *= release
    return env


def _note(
    timbre: Timbre,
    pitch: int,
    velocity: int,
    held: int,
    sample_rate: int,
    rng: np.random.Generator,
) -> np.ndarray:
    """One note: ``held`` samples until note-off, then the release (its whole sound)."""
    length = held + max(1, round(timbre.release * sample_rate))
    n, freq, gains = _partials(timbre, pitch, velocity, sample_rate)
    phases = rng.uniform(0.0, 2.0 * np.pi, len(n))
    target = PEAK_AT_127 * 10.0 ** (timbre.gain_db(velocity) / 20.0)
    gains = gains * (target / _steady_peak(n, gains, phases))
    omega = 2.0 * np.pi * freq / sample_rate
    amplitude = gains * np.exp(1j * phases)
    octaves = (pitch - 60) / 12
    if timbre.kind == STRUCK:
        speed = 2.0 ** (timbre.decay_per_octave * octaves) * (
            1.0 + timbre.partial_damping * (n - 1)
        )
        share = 10.0 ** (timbre.aftersound_db / 20.0)
        fast = 1.0 / (timbre.decay_fast * sample_rate) * speed
        slow = 1.0 / (timbre.decay_slow * sample_rate) * speed
        amplitudes = np.concatenate([amplitude * (1.0 - share), amplitude * share])
        rates = np.concatenate([-fast + 1j * omega, -slow + 1j * omega])
    else:
        rise = timbre.attack / 3.0 * (1.0 + timbre.attack_spread * np.log2(n)) * sample_rate
        amplitudes = np.concatenate([amplitude, -amplitude])
        rates = np.concatenate([1j * omega, -1.0 / rise + 1j * omega])
    sound = _bank(amplitudes, rates, length)
    rms = float(np.sqrt(np.sum(gains**2) / 2.0))
    t = np.arange(length) / sample_rate
    if timbre.noise_db > -100:
        breath = _band_noise(rng, length, timbre.noise_hz, timbre.noise_octaves, sample_rate)
        rise = 1.0 - np.exp(-t / max(timbre.attack / 3.0, 1e-3))
        sound += breath * rise * (rms * 10.0 ** (timbre.noise_db / 20.0))
    burst = min(length, max(1, round(6 * timbre.transient_seconds * sample_rate)))
    click = _band_noise(rng, burst, timbre.transient_hz, timbre.transient_octaves, sample_rate)
    click *= np.exp(-t[:burst] / timbre.transient_seconds)
    sound[:burst] += click * (rms * 10.0 ** (timbre.transient_db / 20.0))
    return sound * _envelope(timbre, held, length, sample_rate)


def synthesize_notes(
    notes: Sequence[Note],
    *,
    instrument: Instrument,
    voices: Sequence[int] | None = None,
    seconds: float,
    sample_rate: int = 22050,
    seed: int = 0,
) -> np.ndarray:
    """Mono float32 of exactly round(seconds * sample_rate) samples, deterministic from
    (notes, voices, seed).

    ``voices`` gives each note's timbre seed (like a GM program; None: all 0). Notes sound
    from their start to their end plus the voice's release; what falls past ``seconds`` is
    cut. Partials stop at 0.45 * ``sample_rate``.
    """
    total = round(seconds * sample_rate)
    out = np.zeros(total, dtype=np.float64)
    if voices is None:
        voices = [0] * len(notes)
    if len(voices) != len(notes):
        raise ValueError(f"{len(voices)} voices for {len(notes)} notes")
    timbres: dict[int, Timbre] = {}
    for index, (note, voice) in enumerate(zip(notes, voices, strict=True)):
        begin = max(0, round(note.start * sample_rate))
        held = max(1, round(note.end * sample_rate) - begin)
        velocity = int(np.clip(note.velocity, 0, 127))
        if begin >= total or velocity == 0:
            continue
        if voice not in timbres:
            timbres[voice] = draw_timbre(instrument, voice)
        rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, index, note.pitch])
        sound = _note(timbres[voice], note.pitch, velocity, held, sample_rate, rng)
        stop = min(total, begin + len(sound))
        out[begin:stop] += sound[: stop - begin]
    return out.astype(np.float32)
