"""The in-source fusion strategy (the default): each fused definition holds the code that runs.

`fuse_in_source` takes the sites the merge fuses, writes those it can in source, and says for each of the
others why the deferred strategy (a settle stanza at the end of the module) takes it instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from patchmerge.fusion.insource.adaptor_args import AdaptorArgs, Option
from patchmerge.fusion.insource.binding import Binding, choose
from patchmerge.fusion.insource.errors import CannotMove
from patchmerge.fusion.insource.import_graph import ImportGraph
from patchmerge.fusion.insource.site_shapes import own_def_alias
from patchmerge.fusion.insource.writer import Context, InSourceWriter
from patchmerge.fusion.sites import Site

IN_SOURCE = "in-source"
DEFERRED = "deferred"


@dataclass
class InSourceResult:
    fused: list[Site] = field(default_factory=list)
    fallback: dict[tuple[str, str | None, str], str] = field(default_factory=dict)  # site key -> reason
    texts: dict[Path, str] = field(default_factory=dict)
    probed: set[Path] = field(default_factory=set)  # files whose fused code uses the runtime helper
    options: list[Option] = field(default_factory=list)  # the adaptor options the fused conditions read
    origins: dict[Path, set[Path]] = field(default_factory=dict)  # file -> files whose code moved into it
    branches: dict[str, tuple[str, str]] = field(default_factory=dict)  # probe id -> (patch_import, condition)
    imports: ImportGraph | None = None  # what importing each module imports, the imports this merge added too


def fuse_in_source(sites: list[Site], context: Context, adaptor_args: AdaptorArgs | None = None) -> InSourceResult:
    result = InSourceResult()
    patched_members = frozenset((site.module, site.owner_class, site.name) for site in sites if site.owner_class)
    keys = frozenset(site.key for site in sites)
    writer = InSourceWriter(context)
    for site in sites:  # the defs moves will read: each module's scope analysis sees them whole, once
        for pp in site.patches:
            if pp.source is not None and pp.source.file is not None and "." not in pp.source.qualname:
                writer.wanted.setdefault(pp.source.file, set()).add(pp.source.qualname)
    # a def another target is bound to as Megatron wrote it may be wrapped in source once that binding is written
    alias_sources = {(pp.source.module, pp.source.qualname) for site in sites if (pp := own_def_alias(site))
                     and pp.source is not None}
    blocking = {
        (pp.source.module, pp.source.qualname)
        for site in sites for pp in site.patches if pp.source is not None and pp is not own_def_alias(site)
    }
    aliased: set[tuple[str, str]] = set()
    phases = {site.key: {pp.patch.phase or 0 for pp in site.patches} for site in sites}
    for site in sorted(sites, key=lambda s: own_def_alias(s) is None):  # those bindings first
        unwritten = alias_sources - aliased
        chosen = choose(site, blocking | unwritten, adaptor_args, patched_members, keys - {site.key},
                        frozenset(aliased), phases)
        if not isinstance(chosen, Binding):
            result.fallback[site.key] = chosen
            continue
        try:
            writer.add(chosen)
        except CannotMove as exc:
            result.fallback[site.key] = str(exc)
            continue
        result.fused.append(site)
        if chosen.alias and chosen.replacement is not None and chosen.replacement.source is not None:
            aliased.add((chosen.replacement.source.module, chosen.replacement.source.qualname))
    result.texts = writer.render()
    result.probed = {path for path, ops in writer.ops.items() if ops.helper}
    result.options = list(writer.options.values())
    result.origins = writer.origins
    result.branches = writer.branches
    result.imports = context.imports
    return result
