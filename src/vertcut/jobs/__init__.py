"""Jobs: the whole pipeline for one master, batches of masters, resumable stages."""

from .batchfile import BatchFile, load_batch_file
from .job import JobReport, JobSpec, run_batch, run_job, subtitle_language
from .ledger import Ledger, LockedError, stage_key

__all__ = [
    "BatchFile",
    "JobReport",
    "JobSpec",
    "Ledger",
    "LockedError",
    "load_batch_file",
    "run_batch",
    "run_job",
    "stage_key",
    "subtitle_language",
]
