"""Which files of a repo or folder hold the generator: its weights file among several (`pick_weights`, by name:
moving-average and generator names, standard names, the latest epoch or step), the same model in other formats beside
it (`format_twins`, compared by `compare_twins`), a sharded index's shards, and the config beside it.

The Hub (`ganinv.hub`) and local folders (`ganinv.sources.folders`) choose alike from a list of file names.
"""

from __future__ import annotations

import functools
import logging
import re
import warnings
from pathlib import Path, PurePosixPath
from typing import Callable, Iterable, Optional

from ganinv import weight_files
from ganinv.atomic import parse_json, read_text
from ganinv.errors import GaninvError, SourceError, first_line

logger = logging.getLogger("ganinv")

# .pkl: torch.save's, read as data; .model: torchgan's Trainer saves `gan{epoch}.model` (an outside audit), taken
# only so named or with a generator word in its name (TORCHGAN_SAVE)
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".tar", ".pkl", ".model")
INDEX_SUFFIXES = (".safetensors.index.json", ".bin.index.json")
STANDARD_NAMES = (
    "model.safetensors",
    "pytorch_model.bin",
    "model.pt",
    "model.pth",
    "model.ckpt",
    "model.safetensors.index.json",
    "pytorch_model.bin.index.json",
)
TORCHGAN_SAVE = re.compile(r"gan\d*\.model")
SHARD = re.compile(r"-\d{5}-of-\d{5}\.(safetensors|bin)$")
# Words in a file name (split at _ - . / and case changes) that mark what it holds.
NOT_GENERATOR = {
    "optimizer",
    "optim",
    "opt",  # opt_G.pth, G_opt.pth: the generator's optimizer state
    "optimizers",
    "scheduler",
    "scaler",
    "rng",
    "args",
    "d",
    "netd",
    "disc",
    "discriminator",
    "critic",
    "dis",
    "encoder",
    "classifier",  # the Coursera course ships pretrained_classifier.pth beside its generator (audit 49b)
    "vae",
    "lpips",
    "vgg",
    "inception",
    "tokenizer",  # tokenizer.model, spiece.model: sentencepiece files share the .model suffix
    "spiece",
    "sentencepiece",
}
# Words of pictures and data: they set aside a file only where its own name does not say generator (samples.tar
# blocked the choice beside wgan.pth: audit 41b; generator_images.pth and netG_samples.pth are generators': 42a)
PICTURE_WORDS = {"samples", "images", "dataset"}
# Words of training records: they set aside a file by its own name, whatever else it says (GAN_history.pkl: an outside
# audit; G_losses.pth, the DCGAN tutorial's loss lists: a review), never by a folder's (history/netG_epoch_24.pth)
RECORD_WORDS = {"history", "losses"}
# Other models that share a folder with a generator (a VAE-GAN's, a BiGAN's encoder): a folder named for them sets
# aside only files whose own name does not say generator (vae_gan/generator.pth was dropped: audit 41b)
MODELS_BESIDE = {"vae", "encoder"}
EMA_WORDS = {"avgg", "ge", *weight_files.EMA_WORDS}
GENERATOR_WORDS = {"generator", "gen", "netg", "g"}
DIFFUSERS_PIPELINE = "model_index.json"  # lists a diffusion pipeline's parts (unet, vae, text_encoder, ...)


def words_stem(name: str) -> str:
    """The path without its weights suffix: `G_ema.pth` -> G_ema."""
    for suffix in INDEX_SUFFIXES + WEIGHT_SUFFIXES:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def words(name: str) -> list[str]:
    """Lower-case words of a path: `netG_epoch_24.pth` -> netg, epoch, 24; `avgG.pt` -> avgg."""
    stem = words_stem(name)
    return [w.lower() for w in re.split(r"[_\-./\s]+", stem) if w]


# Names that say a file is a program (torch.export's .pt2, TorchScript's .ts and .torchscript): typing one is choosing
# to run it. A program named like weights (.pt, .pth, .bin, .ckpt) needs --trust-remote-code: .pt is the most common
# name of a state dict, and an outside audit had a stranger's TorchScript `generator.pt`, typed as weights, write a
# file (torch.from_file) in silence. torch.jit.save's own examples name programs .pt, so the refusal says what to do.
PROGRAM_SUFFIXES = (".pt2", ".ts", ".torchscript")


def is_weights(name: str) -> bool:
    if name.endswith(INDEX_SUFFIXES):
        return True
    if not name.endswith(WEIGHT_SUFFIXES) or SHARD.search(name):
        return False
    if name.endswith(".model") and not (TORCHGAN_SAVE.fullmatch(PurePosixPath(name).name) or generator_named(name)):
        return False  # sentencepiece's bpe.model, gensim's word2vec.model: other libraries' (a review)
    return set_aside_by(name) is None


def set_aside_by(name: str) -> Optional[str]:
    """The word of a weights file's path that marks it as no generator's (`netD.pth`: netd), or None. A folder's
    words do not set aside a file whose own name says generator: `vae_gan/generator.pth` was dropped for its
    folder's "vae" (an outside audit, 41b)."""
    path = PurePosixPath(name)
    own = [w for w in words(path.name) if w in NOT_GENERATOR]
    own += [w for w in words(path.name) if w in PICTURE_WORDS and not generator_named(path.name)]
    own += [w for w in words(path.name) if w in RECORD_WORDS]
    # accelerate's save_state writes random_states_N.pkl, the RNGs' states, beside model.safetensors (audit 49b)
    own += ["random_states"] if re.fullmatch(r"random_states(_\d+)?\.pkl", path.name) else []
    if own:
        return own[0]
    folders = [w for w in words(str(path.parent)) if w in NOT_GENERATOR] if str(path.parent) != "." else []
    if folders and set(folders) <= MODELS_BESIDE and generator_named(path.name):
        return None  # vae_gan/generator.pth; an optimizers/ or critic/ folder sets aside whatever it holds (42a)
    return folders[0] if folders else None


def generator_named(name: str) -> bool:
    """Whether a file's name says it holds the generator: `netG_epoch_24.pth`, `generator.model`."""
    return any(w in GENERATOR_WORDS or w.startswith(("netg", "generator")) for w in words(name))


def rank(name: str, sides_are_sizes: bool = True) -> tuple:
    """Higher is more generator-like: moving-average names, generator names, standard names, root, then the
    latest epoch or step in the name. The format is no rank: a `.safetensors` outranked a later epoch's pickle,
    called "the same weights" unchecked (an outside audit); one model's formats are one candidate (`distinct`).
    `sides_are_sizes`: a lone image-side number tells nothing; `pick_weights` says so from all the candidates."""
    found = words(name)
    stem = PurePosixPath(words_stem(name)).name
    # the moving-average names the weights' reader knows (weight_files), as whole words: `G_ema`, `emaG`, `avgG`,
    # `swa_generator`, StyleGAN's `Gs`; not `schema`
    ema = stem in weight_files.EMA_NAMES or any(w in EMA_WORDS for w in found + weight_files.name_words(stem))
    generator = generator_named(name)
    standard = PurePosixPath(name).name in STANDARD_NAMES
    return (2 * ema + generator, standard, -name.count("/"), progress(name, sides_are_sizes))


COUNT = r"(\d+(?:\.\d+)?[km](?![a-z])|\d+)"  # 500, 500k, 1.5M (read case-blind)
PROGRESS_WORDS = ("epoch", "ep", "step", "steps", "iter", "iters", "iteration", "it", "kimg", "ckpt", "checkpoint")
PROGRESS = re.compile(rf"(?:{'|'.join(PROGRESS_WORDS)})[_\-=]?" + COUNT, re.I)
LATEST_WORDS = {"latest", "last", "final"}
IMAGE_SIDES = {"28", "32", "64", "96", "128", "224", "256", "512", "1024", "2048"}  # `G_64`: a size; `000512` no
RANK_REASONS = (
    "its name marks the moving average or the generator",
    "its standard name",
    "nearest the repo's root",
    "the latest by the epoch or step in its name",
)


def rank_reason(best: str, runner_up: str, best_rank: tuple, runner_rank: tuple) -> str:
    """Why `best` outranks `runner_up` (`rank`), in words that say which mark decided (an outside audit: "marks the
    moving average or the generator" said neither, and an un-numbered `checkpoint.pth` is no earlier epoch)."""
    at = next(i for i, (a, b) in enumerate(zip(best_rank, runner_rank)) if a != b)
    if at == 0:
        return "its name marks the moving average (EMA)" if best_rank[0] >= 2 else "its name marks the generator"
    if at == 3 and runner_rank[3] < 0:
        return (
            f"the latest by the epoch or step in its name ({runner_up} names none: if it is the last one saved, "
            "choose it)"
        )
    return RANK_REASONS[at]


def progress(name: str, sides_are_sizes: bool = True) -> float:
    """How far into training a file's name says it was saved: its own name (`progress_said`), else its folder's
    epoch or step (`checkpoint-500/generator.pth`, as the Trainer saves); -1 where nothing says."""
    path = PurePosixPath(words_stem(name))
    # torchgan's `gan3.model`: its number is a slot that save_model cycles through (`retain_checkpoints`), no epoch
    # (an outside audit: gan4.model, epoch 5 of 7, was taken as "the latest"); an epoch word still counts
    said = progress_said(path.name, lone=not is_torchgan_slot(name), sides_are_sizes=sides_are_sizes)
    if said < 0 and path.parent.name:
        said = progress_said(path.parent.name, lone=False)  # a folder's lone number is a run, not a step
    return said


def is_torchgan_slot(name: str) -> bool:
    """Whether a file is named as torchgan's Trainer names its checkpoints: a prefix, a slot number, `.model`."""
    return bool(re.fullmatch(r"[A-Za-z_\-]*\d+\.model", PurePosixPath(name).name))


def progress_said(stem: str, lone: bool, sides_are_sizes: bool = True) -> float:
    """The count after epoch/step/iter/... (`G_128_epoch_5` is epoch 5, not 128: an outside audit saw the
    resolution win), with k/M read (`G_1.5M` is past `G_500k`); `latest`, `last` and `final` after any count; with
    `lone`, the name's only number (`lone_number`), unless it is a usual image side and `sides_are_sizes`
    (`generator_64` beside `generator_128` is two models, not two epochs; `G_30`..`G_32` are epochs:
    `sides_are_sizes`); -1 where nothing says (two numbers and no such word)."""
    if set(words(stem)) & LATEST_WORDS:
        return float("inf")
    said = PROGRESS.findall(stem)
    if said:
        return count(said[-1])
    number = lone_number(stem) if lone else None
    if number is None or (sides_are_sizes and number in IMAGE_SIDES):
        return -1.0
    return count(number)


def lone_number(stem: str) -> Optional[str]:
    """The only number of a name that has no epoch/step word and no `latest`/`last`/`final`: `G_32` -> 32."""
    if set(words(stem)) & LATEST_WORDS or PROGRESS.search(stem):
        return None
    numbers = re.findall(COUNT, stem, re.I)
    return numbers[0] if len(numbers) == 1 else None


def sides_are_sizes(candidates: Iterable[str]) -> bool:
    """Whether the candidates' lone numbers (`lone_number`) are image sizes, not epochs: only where every one of
    them is a usual image side (`generator_64` beside `generator_128`: two models); among a run of epochs some are
    sides by chance (`G_30`, `G_31`, `G_32`; `G_1000`, `G_1024`: an outside audit saw G_31 called the latest)."""
    lone = [lone_number(PurePosixPath(words_stem(name)).name) for name in candidates]
    return all(number in IMAGE_SIDES for number in lone if number is not None)


def kinds(name: str) -> set[str]:
    """The words of a weights file's name without their numbers, epoch/step words or `latest`: what it holds
    (`vanilla` of `VANILLA_000001.pth`, `netg` of `netG_epoch_24.pth` and of `netG10.pth`, `generator` of
    `checkpoint-1000/generator.pth`). Numbers glued to letters go too (`G_e10`, `gen_10ep`: a review, 52a)."""
    found = set()
    for word in words(name):
        letters = NUMBER.sub(" ", word)
        found |= {w for w in re.split(r"[\s=]+", letters) if w and w not in NO_KIND_WORDS}
    return found


NUMBER = re.compile(r"\d+(?:\.\d+)?(?:[km](?![a-z]))?", re.I)  # 500k, 1.5M, 000001, alone or glued to letters
# words that say when, not what: the progress words, their short forms glued to a count (`G_e10`, `G_epo10`), latest
NO_KIND_WORDS = frozenset({*PROGRESS_WORDS, "e", "epo", "s", *LATEST_WORDS})


def count(text: str) -> float:
    """`500` -> 500, `500k` -> 500,000, `1.5M` -> 1,500,000."""
    scale = {"k": 1e3, "m": 1e6}.get(text[-1].lower(), 1.0)
    return float(text.rstrip("kKmM")) * scale


def distinct(candidates: Iterable[str]) -> list[str]:
    """The candidates less the pickles a safetensors file beside them stands for (`format_twins`): one model in two
    formats is one choice, the safetensors read (no pickle), once `check_same_weights` found them equal."""
    candidates = list(candidates)
    stood_for = {t for f in candidates if f.endswith(".safetensors") for t in format_twins(f, candidates)}
    return [f for f in candidates if f not in stood_for]


# `pick_weights`' look for a moving average of the chosen weights that no name marks: (chosen, candidates) -> (file,
# entry) or None (`registered_average` for a folder, `ganinv.hub.registered_average_in` for a repo)
AverageBeside = Callable[[str, tuple[str, ...]], Optional[tuple[str, str]]]


def pick_weights(
    files: Iterable[str],
    where: str,
    repo: Optional[str] = None,
    name_file: Optional[str] = None,
    average_beside: Optional[AverageBeside] = None,
) -> tuple[str, tuple[str, ...]]:
    """(the generator's weights file, every candidate) among a repo's files; announce a choice among several.
    `name_file`: how a source names one file of them (default `WHERE:FILE`; a local folder's `DIR/FILE`).
    `average_beside(chosen, candidates)`: (file, entry) of a moving average of the chosen weights that no name marks
    (`registered_average`), taken in their place."""
    files = list(files)
    name_file = name_file or f"{where}:FILE"
    if DIFFUSERS_PIPELINE in files:
        raise SourceError(
            f"{where} is a diffusers pipeline ({DIFFUSERS_PIPELINE}): a diffusion model, not a GAN generator, "
            "which is what ganinv inverts"
        )
    candidates = tuple(f for f in files if is_weights(f))
    if not candidates:
        listed = [f for f in files if not f.startswith(".")]
        aside = [
            f"{f} (its name says {set_aside_by(f)!r})"
            for f in listed
            if f.endswith(WEIGHT_SUFFIXES) and not SHARD.search(f) and set_aside_by(f)
        ]
        if aside:  # "no weights file (*.pth)", listing .pth files, had not said why they were passed over (41b)
            raise SourceError(
                f"{where} has no file whose name says it holds a generator: set aside {', '.join(aside[:6])}, as a "
                "critic's, an optimizer's or another model's; if one of them holds the generator (a whole GAN's "
                f"checkpoint, say), name it: {f'{repo}:FILE' if repo else name_file}"
            )
        programs = [f for f in listed if f.lower().endswith(PROGRAM_SUFFIXES)]
        if not listed:  # "it holds nothing; if one of them is ..." (an outside audit, 55c)
            raise SourceError(f"{where} holds no files at this revision; give a repo (or revision) with the weights")
        raise SourceError(
            f"{where} has no weights file (model.safetensors, pytorch_model.bin, *.pt, *.pth, *.ckpt, *.pkl, "
            f"*.model or a sharded index); it holds {', '.join(listed[:12])}"
            + (f" (+{len(listed) - 12} more)" if len(listed) > 12 else "")
            + (  # a repo of a program alone was told to name its "torch.save file" (55c)
                f"; {programs[0]} is a program (code), which runs only if you name it and trust its author: "
                f"{f'{repo}:{programs[0]}' if repo else programs[0]} with --trust-remote-code"
                if programs
                else f"; if one of them is the generator's torch.save file, name it: "
                f"{f'{repo}:FILE' if repo else name_file}"
            )
        )
    choices = distinct(candidates)
    key = functools.partial(rank, sides_are_sizes=sides_are_sizes(choices))  # one reading of numbers for all
    ordered = sorted(choices, key=key, reverse=True)
    best = ordered[0]
    if len(ordered) > 1:
        runner_up = ordered[1]
        if key(best) == key(runner_up):
            raise SourceError(
                f"{where} has several weights files and nothing tells which is the generator: "
                f"{', '.join(ordered[:8])}; choose one with {name_file}"
                + (
                    " (if these are torchgan's, their numbers are slots it cycles through, not epochs: each file "
                    "records its epoch)"
                    if all(is_torchgan_slot(f) for f in ordered[:2])
                    else ""
                )
            )
        why = rank_reason(best, runner_up, key(best), key(runner_up))
        # told apart by the numbers in their names alone (not `g_best`, `g_last` beside `g_epoch_10`: a review, 52a)
        alike = [c for c in ordered if key(c)[:3] == key(best)[:3] and 0 <= key(c)[3] < float("inf")]
        if why == RANK_REASONS[3] and len({frozenset(kinds(c)) for c in alike}) > 1:
            raise SourceError(  # VANILLA_000001 beside DCGAN_000000: two models, not two epochs (an outside audit, 51a)
                f"{where} has several weights files and nothing tells which is the generator: "
                f"{', '.join(ordered[:8])} (their names differ by more than a number: several models, not epochs of "
                f"one run); choose one with {name_file}"
            )
        average = average_beside(best, candidates) if average_beside is not None else None
        if average is not None:
            warnings.warn(
                f"{where} has {len(candidates)} weights files; using {average[0]}: it holds {average[1]}, a moving "
                f"average of the generator in {best} (what its authors sample from; accelerate's "
                f"register_for_checkpointing saves one so); the online weights: {naming(name_file, best)}",
                stacklevel=3,
            )
            return average[0], candidates
        shown = ", ".join(shown_name(c) for c in sorted(candidates, key=key, reverse=True)[:6])
        warnings.warn(
            f"{where} has {len(candidates)} weights files ({shown}); using {shown_name(best)}, {why}; choose another "
            f"with {name_file}",
            stacklevel=3,
        )
    return best, candidates


def shown_name(name: str) -> str:
    """A file name as a message shows it: escaped where it is not plain ASCII, so that `mоdel.safetensors` (a
    Cyrillic о) does not print as `model.safetensors` beside it (an outside audit, 53a)."""
    return name if name.isascii() and name.isprintable() else ascii(name)


def naming(name_file: str, file: str) -> str:
    """`name_file` (`WHERE:FILE`, `DIR/FILE`) with `file` for its placeholder: the last `FILE` only, or a folder named
    `FILES/` in the path had become `model.safetensorsS/` (a review)."""
    return name_file[: -len("FILE")] + file if name_file.endswith("FILE") else name_file


# accelerate's `register_for_checkpointing(obj)` saves obj.state_dict() as custom_checkpoint_N.pkl beside the models'
# weights: often an EMA of the generator (ema_pytorch's online_model and ema_model), which no name says (audit 49b)
REGISTERED_STATE = re.compile(r"custom_checkpoint_\d+\.pkl")


def registered_states(chosen: str, candidates: Iterable[str]) -> list[str]:
    """The states accelerate saved beside `chosen` (`REGISTERED_STATE`), in its folder."""
    parent = PurePosixPath(chosen).parent
    return [
        c
        for c in candidates
        if PurePosixPath(c).parent == parent and REGISTERED_STATE.fullmatch(PurePosixPath(c).name) and c != chosen
    ]


def registered_average(folder: Path, chosen: str, candidates: Iterable[str]) -> Optional[tuple[str, str]]:
    """(file, entry) of a state accelerate saved beside `chosen` (`REGISTERED_STATE`) that holds a moving average of
    the same net: an average-named entry with the chosen file's tensor names and shapes. Files are read as data."""
    registered = registered_states(chosen, candidates)
    if not registered:
        return None
    try:
        online = weight_files.quiet_state_dict(folder / chosen, str(folder / chosen))
    except GaninvError:
        return None  # its own reading says what is wrong with it
    for name in registered:
        try:
            with weight_files.quietly():  # read once: the average and the online copy beside it
                state = weight_files.read_weights(folder / name, where=str(folder / name))
                average, entry = weight_files.locate_state_dict(state, None, str(folder / name))
        except GaninvError:
            continue
        beside = online_copy(state)
        averaged = any(weight_files.is_ema_name(part, plain=False) for part in entry.split("."))
        same_net = {k: v.shape for k, v in average.items()} == {k: v.shape for k, v in online.items()}
        # the state's own online copy must be the chosen file: two generators of one architecture (a CycleGAN's)
        # with an EMA of the other had its average taken for this one (a review, 52a)
        of_this_net = beside is None or weight_files.tensor_difference(beside, online) is None
        if averaged and same_net and of_this_net:
            return name, entry
    return None


def online_copy(state: object) -> Optional[dict]:
    """The online weights an averaging state keeps beside its average (ema_pytorch's `online_model.*`), or None."""
    if not isinstance(state, dict):
        return None
    firsts = {str(k).split(".", 1)[0] for k in state}
    online = [p for p in firsts if set(weight_files.name_words(p)) & weight_files.ONLINE_WORDS]
    if len(online) != 1:
        return None
    prefix = online[0] + "."
    copy = {k[len(prefix) :]: v for k, v in state.items() if isinstance(k, str) and k.startswith(prefix)}
    return weight_files.strip_prefixes(copy)  # `_orig_mod.` of a compiled net, as the chosen file's are read


PICKLE_SUFFIXES = tuple(s for s in WEIGHT_SUFFIXES if s != ".safetensors")


def format_twins(name: str, files: Iterable[str]) -> list[str]:
    """The same model in other formats beside a weights file, as the repo lists them: standard names
    (`model.safetensors` beside `pytorch_model.bin`, transformers' convention and the Hub's conversion bot's), and a
    safetensors file's pickles of the same stem (`G.safetensors` beside `G.pth`). Only these are read as one model,
    and only once compared (`compare_twins`)."""
    if name.endswith(INDEX_SUFFIXES):
        return []
    listed = set(files)
    path = PurePosixPath(name)
    others = [
        str(path.parent / other)
        for other in STANDARD_NAMES
        if path.name in STANDARD_NAMES and not other.endswith(INDEX_SUFFIXES)
    ]
    if name.endswith(".safetensors"):
        others += [str(path.parent / (path.name[: -len(".safetensors")] + suffix)) for suffix in PICKLE_SUFFIXES]
    return [other for other in dict.fromkeys(others) if other != name and other in listed and is_weights(other)]


def compare_twins(folder: Path, weights: str, twins: list[str], where: str) -> None:
    """`check_same_weights` on files at hand: `weights` and its `twins` (names relative to `folder`)."""
    try:
        chosen = weight_files.quiet_state_dict(folder / weights, f"{where}:{weights}")
    except GaninvError:
        return  # reading the chosen file for the load says what is wrong with it
    for twin in twins:
        try:
            other = weight_files.quiet_state_dict(folder / twin, f"{where}:{twin}")
        except GaninvError as exc:
            warnings.warn(
                f"{where}: {twin} could not be read to check that it holds the same weights as {weights} "
                f"({first_line(exc)}); reading {weights}",
                stacklevel=4,
            )
            continue
        difference = weight_files.tensor_difference(chosen, other)
        if difference:
            raise SourceError(
                f"{where} has {weights} and {twin}, which hold different weights ({difference}), not one model in "
                f"two formats; nothing tells which is the generator: choose one with {where}:{weights} or "
                f"{where}:{twin}"
            )
    logger.info("%s: %s and %s hold the same tensors; reading %s", where, weights, ", ".join(twins), weights)


def beside(name: str, files: Iterable[str], *candidates: str) -> Optional[str]:
    """The first of `candidates` (names relative to `name`'s folder, then the root) that the repo lists."""
    listed = set(files)
    folder = PurePosixPath(name).parent
    for candidate in candidates:
        for place in ([folder / candidate] if str(folder) != "." else []) + [PurePosixPath(candidate)]:
            if str(place) in listed and str(place) != name:
                return str(place)
    return None


def shards_of(index: Path, name: str, where: str) -> tuple[str, ...]:
    """The shard files a sharded index names (relative to the repo root)."""

    try:
        weight_map = parse_json(read_text(index))["weight_map"]
        files = sorted(set(weight_map.values()))
        if not files or not all(isinstance(k, str) and isinstance(f, str) and f for k, f in weight_map.items()):
            raise ValueError("the weight_map must map tensor names to shard file names")
    except (ValueError, KeyError, TypeError, AttributeError):
        raise SourceError(
            f"{where}:{name} is not a sharded-weights index (a JSON object with a weight_map of tensor names to "
            "shard file names)"
        ) from None
    folder = PurePosixPath(name).parent
    return tuple(str(folder / f) if str(folder) != "." else f for f in files)
