"""The fast path for clean CSV files: pyarrow's multithreaded C++ parser.

It is exact only while every physical line is one record (no quoted newlines, no blank or short lines, valid
UTF-8, no field larger than a block). At the first sign of anything else it gives up
(`FastPathAbandonedError`) and the import restarts with the line-exact reader, which reports each row.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from churnradar.ingest.readers import Batch, TableReader

BLOCK_BYTES = 2 * 1024 * 1024  # pyarrow reads ahead a few dozen blocks: this bounds its memory


class FastPathAbandonedError(Exception):
    """The file needs the line-exact reader; nothing read so far can be trusted for row numbers."""


class ArrowCsvReader(TableReader):
    """A UTF-8 CSV whose header is on line 1, parsed in blocks by pyarrow."""

    def __init__(self, path: Path, header: list[str], *, encoding: str) -> None:
        self.path = path
        self.header = header
        self.encoding = encoding
        self._misfit = False

    def _abandon(self, _row: Any) -> str:
        # Raising inside pyarrow's callback is reported as unraisable; flag it and stop after the block.
        self._misfit = True
        return "skip"

    trimmed = True  # its string cells are stripped, empty ones null

    def _blocks(self) -> Iterator[pa.RecordBatch]:
        """Yield whole blocks as Arrow batches of stripped text (null when empty), columns c0, c1, ..."""
        names = [f"c{i}" for i in range(len(self.header))]  # the header may repeat names; checked elsewhere
        read = pacsv.ReadOptions(
            column_names=names, skip_rows=1, block_size=BLOCK_BYTES, encoding="utf8", use_threads=False
        )
        parse = pacsv.ParseOptions(
            newlines_in_values=False, ignore_empty_lines=False, invalid_row_handler=self._abandon
        )
        convert = pacsv.ConvertOptions(
            column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False
        )
        try:
            with pacsv.open_csv(
                self.path, read_options=read, parse_options=parse, convert_options=convert
            ) as rd:
                for record_batch in rd:
                    if self._misfit:
                        raise FastPathAbandonedError("a row does not fit the one-line-per-record layout")
                    columns = []
                    for name in names:
                        text = pc.utf8_trim_whitespace(record_batch.column(name))
                        columns.append(pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text))
                    yield pa.RecordBatch.from_arrays(columns, names=names)
            if self._misfit:
                raise FastPathAbandonedError("a row does not fit the one-line-per-record layout")
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise FastPathAbandonedError(str(exc)) from exc

    def arrow_batches(self, batch_rows: int) -> Iterator[tuple[pa.RecordBatch, int]]:
        """Whole blocks of text columns with the line of each block's first row (line = index + 2)."""
        next_row = 2
        for record_batch in self._blocks():
            yield record_batch, next_row
            next_row += record_batch.num_rows

    def text_batch(self, batch: pa.RecordBatch, first_row: int) -> Batch:
        """A block as a frame of Python strings / None."""
        columns = {t: batch.column(i).to_numpy(zero_copy_only=False) for i, t in enumerate(self.header)}
        frame = pd.DataFrame(columns, dtype=object)
        frame.columns = pd.Index(self.header)
        return Batch([], np.arange(first_row, first_row + batch.num_rows).tolist(), table=frame)

    def batches(self, batch_rows: int) -> Iterator[Batch]:
        """Yield whole blocks as frames of Python strings / None."""
        for record_batch, first_row in self.arrow_batches(batch_rows):
            yield self.text_batch(record_batch, first_row)
