# python3 split.py N DIR...: instructions per connection in each count.sh result DIR (cg.out.1), split into V8's GC
# (its functions by name: Scavenger, MarkCompact, Sweeper, ...) and the rest ("mutator"). Whether a full GC falls
# into a window of a few thousand connections swings the total by thousands per connection; the rest is stable.
import os, re, subprocess, sys

GC = re.compile(r'Scaveng|Marking|MarkCompact|Sweep|Evacuat|RememberedSet|BodyDescriptor|LiveObjectRange|RootVisitor|RootPointer|Heap::|heap::|ConcurrentMarking|SlotSet|MemoryChunk|IterateObjectCache|SizeFromMap|TypedSlot|WeakObjects|GCTracer|Compactor|PagedSpace|FreeList|ClearNonLive|PointersUpdating|RecordMigratedSlot|MigrateObject|GlobalHandles|ProcessWeak|Isolate::Iterate|StringTable::Iterate|ClearOldBytecode|TracedHandles|EphemeronHashTable|VisitMapPointer|ShouldVisit|WhiteToGrey|MarkBit|Mark.*Visitor|HandleScopeImplementer::Iterate|ThreadManager::Iterate|Builtins::IterateBuiltins|Deoptimizer::Visit|RelocIterator|IncrementalMarking|ObjectStats|MinorMC|Remembered')

def split(path):
    out = subprocess.run(['callgrind_annotate', '--threshold=100', '--inclusive=no', path], capture_output=True, text=True, check=True).stdout
    total = gc = 0
    for line in out.splitlines():
        m = re.match(r'\s*([\d,]+)\s+\([^)]*\)\s+(.*)$', line)
        if not m:
            continue
        v = int(m.group(1).replace(',', ''))
        if 'PROGRAM TOTALS' in line:
            total = v
        elif GC.search(m.group(2)):
            gc += v
    return total, gc

n = int(sys.argv[1])
for d in sys.argv[2:]:
    total, gc = split(os.path.join(d, 'cg.out.1'))
    meta = open(os.path.join(d, 'meta')).read().strip()
    print(f'{meta:40s} total {total / n:9,.0f}  gc {gc / n:7,.0f}  mutator {(total - gc) / n:9,.0f}  ({d})')
