"""The demo's month: forms out, simulated people fill them in and send them, intake, master
and briefing — every step through the real use cases of `xf_excel.pipeline`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from ..config import Config
from ..consolidate import Consolidation
from ..outputs.briefing import BriefingResult
from ..pipeline import (
    IntakeReport, brief, consolidate_period, intake_inbox, make_forms, master_filename, write_master_workbook,
)
from ..outputs.status import status_text
from ..outputs.textfile import write_text_file
from .simulate import campaign_of, first_intake_at, simulate, write_inbox

__all__ = ["run_demo", "DemoPeriod"]

@dataclass
class DemoPeriod:
    """What the demo did in one period."""

    period: int
    forms: int
    intake: list[IntakeReport]
    consolidation: Consolidation
    master: Path
    briefing: BriefingResult
    folder: Path


def run_demo(config: Config, out_dir: str | Path, seed: int = 2020, periods: Optional[list[int]] = None,
             units: Optional[int] = None, on_period: Optional[Callable[[DemoPeriod], None]] = None) -> list[DemoPeriod]:
    """Simulate the campaign with the real pipeline: for each period, forms go out, simulated
    people fill them in and send them (two delivery batches: first returns, then corrections),
    intake reads them, and the master workbook and the briefing are written.

    Starts from an empty archive in `out_dir` every time; deterministic for a seed."""
    out_dir = Path(out_dir)
    archive_path = out_dir / "档案库.sqlite"
    for stale in (archive_path, Path(str(archive_path) + "-wal"), Path(str(archive_path) + "-shm")):
        stale.unlink(missing_ok=True)
    sim = simulate(config, seed=seed, units=units)
    config = campaign_of(sim)
    results = []
    for number in periods or [p.number for p in config.periods]:
        folder = out_dir / f"第{number}期"
        forms = make_forms(config, number, folder / "1_填报表", archive_path)
        reports = []
        for batch in (1, 2):
            inbox = folder / "2_收件箱" / f"第{batch}批"
            write_inbox(sim, number, batch, folder / "1_填报表", inbox)
            reports.append(intake_inbox(config, inbox, number, archive_path, folder / "3_退回"))
        # the office's clock in the simulation: the day after the corrections came in
        consolidation = consolidate_period(config, number, archive_path, now=first_intake_at(config, number)
                                           + dt.timedelta(days=2))
        master = write_master_workbook(consolidation, folder / f"4_{master_filename(config, number)}")
        # dated as the office would have issued it: the day of the period's deadline
        briefing = brief(consolidation, folder / "5_简报", issue_date=config.period(number).deadline.date())
        write_text_file(folder / "6_报送情况.txt", status_text(consolidation) + "\n")
        result = DemoPeriod(number, len(forms.paths), reports, consolidation, master, briefing, folder)
        results.append(result)
        if on_period:
            on_period(result)
    return results
