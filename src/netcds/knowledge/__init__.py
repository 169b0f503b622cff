"""Knowledge base: schema of the data files, loading, validation."""

from netcds.knowledge.load import default_knowledge_dir, load_knowledge
from netcds.knowledge.schema import Entry, Knowledge, Table

__all__ = ["Entry", "Knowledge", "Table", "default_knowledge_dir", "load_knowledge"]
