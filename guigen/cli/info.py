"""`guigen info`: a model's card (kind, vocabulary, size, training data, scores), or the list of models."""

from __future__ import annotations

import json
from pathlib import Path


def add_parser(sub):
    p = sub.add_parser("info", help="show a model's card, or list the models",
                       description="With -m, print the model card; without, list the named models.")
    p.add_argument("-m", "--model", help="model name or .safetensors path")
    p.add_argument("--json", action="store_true", help="print everything the model file says, as JSON")
    p.set_defaults(run=run)


def card(model) -> dict:
    """The facts a person wants about a model, from its file alone."""
    from guigen.core import facts

    cfg, tr = model.config, model.training
    info = {
        "name": model.name,
        "path": str(model.path),
        "kind": model.kind,
        "classes": cfg.vocab_size,
        "layers": cfg.layers,
        "hidden": cfg.hidden,
        "members": cfg.members,
        "network": facts.network(cfg),
        "embed": cfg.embed,
        "dropout": cfg.dropout,
        "parameters": model.num_parameters(),
        "file_bytes": model.path.stat().st_size if model.path else None,
        "codec": model.codec.to_meta(),
        "training": tr,
    }
    return info


def describe_encoding(codec: dict, classes: int) -> str:
    """A music codec's metadata in words: encoding, events, pitch range, key."""
    from guigen.music.events import KEY_NAMES, pitch_name

    words = f"{codec.get('encoding', '?')} encoding, {classes} events"
    if "min_pitch" in codec:
        words += f", pitches {pitch_name(codec['min_pitch'])}-{pitch_name(codec['max_pitch'])}"
        words += f" ({codec['min_pitch']}-{codec['max_pitch']})"
    if codec.get("transpose_to_key") is not None:
        key = KEY_NAMES[codec["transpose_to_key"]]
        words += f", trained in {key} major / its relative minor (primers are moved there and back)"
    if conditions := codec.get("conditions"):  # a token before each tune: `generate --metre M --key K`
        words += (f"; conditions (--metre, --key): metres {', '.join(conditions.get('metres', []))}, "
                  f"modes {', '.join(conditions.get('modes', []))}")
    return words


def _summary(info: dict) -> str:
    tr = info["training"]
    codec = info["codec"]
    if info["kind"] == "text":
        vocab = f"{info['classes']} characters: " + repr(codec.get("chars", ""))[1:-1]
    else:
        vocab = describe_encoding(codec, info["classes"])
    lines = [
        f"{info['name']}  ({info['path']})",
        f"  kind        {info['kind']}",
        f"  vocabulary  {vocab}",
        f"  network     {info['network']}, embedding {info['embed']}, dropout {info['dropout']}",
        f"  parameters  {info['parameters']:,}  ({(info['file_bytes'] or 0) / 1e6:.1f} MB)",
    ]
    if tr:
        from guigen.core import facts

        data = facts.data_line(tr) or "?"
        lines.append(f"  trained on  {data}" + (f" ({tr['data_chars']:,} chars)" if tr.get("data_chars") else ""))
        if "split" in tr:
            lines.append("  split       " + ", ".join(f"{k} {a:,}-{b:,}" for k, (a, b) in tr["split"].items()))
        if tr.get("steps"):
            mins = (tr.get("train_seconds") or 0) / 60
            epochs = tr.get("epochs")
            planned = tr.get("train_config", {}).get("epochs")
            # the file is written at each epoch that improves validation: a later epoch may not have
            if isinstance(planned, int) and isinstance(epochs, int) and planned > epochs:
                done = f"epoch {epochs} of {planned} (the best by validation loss)"
            else:
                done = f"{epochs} epoch{'' if epochs == 1 else 's'}"
            how = {"bf16": ", bf16 mixed precision", "fp16": ", fp16 mixed precision"}.get(tr.get("precision"), "")
            lines.append(f"  training    {done}, {tr['steps']:,} steps, {mins:.0f} min{how}")
        if tr.get("fine_tuned_from"):
            lines.append(f"  fine-tuned  from {tr['fine_tuned_from']}")
        if tr.get("distilled_from"):
            teachers = facts.teachers(tr)
            weight = tr.get("train_config", {}).get("teacher_weight")
            lines.append(f"  distilled   from {', '.join(teachers)}"
                         + (f" (their mean prediction weighted {weight:g})" if weight is not None else ""))
        if tr.get("ensemble_of"):
            lines.append(f"  ensemble    of {', '.join(facts.members(tr))} (the mean of their predictions)")
        scores = facts.scores_line(tr, info["kind"])
        if scores:
            lines.append(f"  scores      {scores}")
        if tr.get("command"):  # as it was run, in its trainer's folders
            lines.append(f"  command     {tr['command']}")
    card = Path(str(info["path"])).with_suffix(".md")
    if info.get("path") and card.is_file():  # a shipped model's card: the data and commands, for a clone
        lines.append(f"  card        {card}")
    return "\n".join(lines)


def run(args) -> int:
    from guigen.core import registry

    if not args.model:
        models = registry.available()
        if args.json:
            print(json.dumps({k: str(v) for k, v in models.items()}, indent=2))
            return 0
        if not models:
            print("no models found; train one with `guigen train text FILE -o MODEL.safetensors`")
        for name, path in models.items():
            try:
                info = card(registry.load(str(path)))
                print(f"{name:20s} {info['kind']:6s} {info['network']}  "
                      f"{info['parameters']:>10,} params  {path}")
            except (KeyboardInterrupt, SystemExit):
                raise
            except BaseException as e:  # one broken file must not hide the others, whatever it raises
                reason = (str(e).strip().splitlines() or [type(e).__name__])[0].removeprefix(f"{path}: ")
                print(f"{name:20s} not usable: {reason}  {path}")
        print("\nmodels are looked up in: " + ", ".join(str(d) for d in registry.model_dirs()))
        print(f"your models go in:        {registry.user_models_dir()}")
        print(f"the app's settings:       {registry.settings_file()}")
        return 0
    info = card(registry.load(args.model))
    print(json.dumps(info, indent=2, ensure_ascii=False) if args.json else _summary(info))
    return 0
