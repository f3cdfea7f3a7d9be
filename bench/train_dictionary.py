"""Train the batch compression dictionary (sync/dictionaries/) from demo-seed data.

    .venv/bin/python bench/train_dictionary.py [--name dossier-v2] [--dossiers 600] [--check]

Reproducible: the desk's clock is fixed, demo seeds are fixed, and each record's mutation id
(random in a real desk) is replaced by a UUIDv7-shaped id from a seeded generator before
training, so the same code writes the same file. ``--check`` trains and compares with the
shipped file instead of writing it. The samples are single records exactly as a batch carries
them (``sync.protocol.record_json`` for dossier-v1, ``sync.compact.compact_record`` for
dossier-v2, with compact batch replies): what a push of a few dossiers consists of.

A shipped dictionary is never rewritten (another content under the same id would decode the
other side's frames into garbage): the demo data has changed since dossier-v1 was trained, so
its ``--check`` says DIFFERS, and it stays as shipped for the desks that have it.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import zstandard  # noqa: E402

from sync import compact, dictionaries, protocol  # noqa: E402

DICT_BYTES = 64 * 1024
SEEDS = (7, 8, 9)
SCHEMAS = {"dossier-v1": 1, "dossier-v2": 2}      # the record schema each is trained on
CLOCK = datetime(2026, 11, 30, 12, 0, 0)


def demo_records(dossiers: int, schema: int = 1) -> list[bytes]:
    """Records of ``dossiers`` demo dossiers per seed, with deterministic mutation ids, as
    record schema ``schema`` carries them (2 and later: compact, sync/compact.py)."""
    from ccdesk.demo import seed_demo
    from ccdesk.paths import Paths
    from ccdesk.services import SYSTEM, Services
    from ccdesk.services.office import OfficeSettings
    from ccdesk.storage.outbox import states as outbox

    rng = random.Random(2026)
    samples: list[bytes] = []
    for seed in SEEDS:
        root = Path(tempfile.mkdtemp(prefix="ccdesk-zdict-"))
        paths = Paths(root / "data", root / "config")
        services = Services.open(paths.default_db, paths)
        services.ctx.clock = lambda: CLOCK
        services.office.update(SYSTEM, OfficeSettings(
            "UBND XÃ AN PHÚ", "TRUNG TÂM PHỤC VỤ HÀNH CHÍNH CÔNG", "000.17.22.H56", "An Phú",
            commune_code="26734"), complete_setup=True)
        services.catalog.import_catalog(
            services.catalog.check_file(ROOT / "ccdesk/data/catalog.toml"))
        seed_demo(services, dossiers, days=30, seed=seed, outbox=True)
        with services.db.session() as session:
            rows = outbox.pending_rows(session, 10 * dossiers + 100, one_gap=True)
        previous = (0, "")
        for r in rows:
            mutation_id = _uuid7_like(rng, r.client_time)
            if schema == 1:
                samples.append(protocol.record_json(r.seq, mutation_id, r.op, r.entity_id,
                                                    r.client_time, r.payload))
            else:
                samples.append(protocol.dumps(compact.compact_record(
                    r.seq, mutation_id, r.op, r.entity_id, r.client_time, r.payload,
                    previous, schema)))
                previous = (r.seq, r.entity_id)
        if schema > 1:
            samples.extend(_replies(rng, rows, schema))
        services.close()
    return samples


def _replies(rng: random.Random, rows: list, schema: int) -> list[bytes]:
    """Compact batch replies (sync/compact.py) for pushes of 1 to 20 dossiers of ``rows``:
    they are compressed with the batch's dictionary too."""
    out = []
    for start in range(0, len(rows) - 80, 80):
        chunk = rows[start:start + rng.randint(4, 80)]
        digest = f"{rng.getrandbits(256):064x}"
        results = [{"seq": r.seq, "result": protocol.APPLIED} for r in chunk]
        answer = {"service": protocol.SERVICE_NAME, "digest": digest, "results": results}
        out.append(protocol.dumps(compact.compact_reply(answer)))
    return out


def _uuid7_like(rng: random.Random, client_time: str) -> str:
    millis = int(datetime.fromisoformat(client_time).timestamp() * 1000) & (2**48 - 1)
    rand = rng.getrandbits(74)
    value = (millis << 80) | (0x7 << 76) | ((rand >> 62) << 64) | (0b10 << 62) \
        | (rand & (2**62 - 1))
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def train(name: str, dossiers: int) -> bytes:
    samples = demo_records(dossiers, SCHEMAS[name])
    trained = zstandard.train_dictionary(DICT_BYTES, samples, k=256, d=8, steps=1, threads=1,
                                         dict_id=dictionaries.KNOWN[name])
    return trained.as_bytes()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", default="dossier-v2", choices=sorted(dictionaries.KNOWN))
    parser.add_argument("--dossiers", type=int, default=600, help="demo dossiers per seed")
    parser.add_argument("--check", action="store_true",
                        help="compare with the shipped file instead of writing it")
    parser.add_argument("--replace", action="store_true",
                        help="overwrite a shipped dictionary that differs (never once released)")
    args = parser.parse_args()
    data = train(args.name, args.dossiers)
    target = ROOT / "sync" / "dictionaries" / f"{args.name}.zdict"
    if args.check:
        same = target.is_file() and target.read_bytes() == data
        print(f"{target.name}: {'identical' if same else 'DIFFERS'} ({len(data):,} B)")
        sys.exit(0 if same else 1)
    if target.exists() and target.read_bytes() != data and not args.replace:
        # Desks and relays in the field hold the shipped file: another content under the same
        # zstd id would decode their frames into garbage. A new dictionary gets a new name.
        print(f"{target.name} is shipped and differs: train a new name (or --replace)")
        sys.exit(1)
    target.write_bytes(data)
    print(f"wrote {target} ({len(data):,} B, zstd dict id {dictionaries.KNOWN[args.name]:#x})")


if __name__ == "__main__":
    main()
