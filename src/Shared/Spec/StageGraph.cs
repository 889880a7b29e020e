namespace MmCluster.Shared.Spec;

/// <summary>
/// The stage schedule as a directed acyclic graph (pure). <see cref="Order"/> is a topological order that keeps the
/// spec's declaration order wherever dependencies allow, so the same spec always runs its stages in the same order; the
/// scheduler asks <see cref="Ready"/> which stages may start and <see cref="Blocked"/> which can no longer run.
/// </summary>
public sealed class StageGraph
{
    private readonly Dictionary<string, StageNode> _nodes;

    private StageGraph(IReadOnlyList<StageNode> nodes, IReadOnlyList<string> order)
    {
        _nodes = nodes.ToDictionary(n => n.Name, StringComparer.Ordinal);
        Order = order;
    }

    public IReadOnlyList<string> Order { get; }

    /// <summary>Builds the graph, or throws <see cref="ArgumentException"/> listing every issue <see cref="Check"/> finds.</summary>
    public static StageGraph Build(IReadOnlyList<StageNode> nodes)
    {
        var issues = Check(nodes);
        if (issues.Count > 0)
        {
            throw new ArgumentException("invalid stage graph: " + string.Join("; ", issues.Select(i => i.Message)), nameof(nodes));
        }
        return new StageGraph(nodes, TopologicalOrder(nodes));
    }

    /// <summary>Every duplicate name, unknown dependency and cycle (each cycle reported once, at the edge that closes it).</summary>
    public static IReadOnlyList<StageGraphIssue> Check(IReadOnlyList<StageNode> nodes)
    {
        var issues = new List<StageGraphIssue>();
        var first = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < nodes.Count; i++)
        {
            if (!first.TryAdd(nodes[i].Name, i))
            {
                issues.Add(new StageGraphIssue(StageGraphIssueKind.DuplicateName, i, null,
                    $"duplicate stage name '{nodes[i].Name}' (also stage {first[nodes[i].Name]})"));
            }
        }
        for (var i = 0; i < nodes.Count; i++)
        {
            for (var j = 0; j < nodes[i].DependsOn.Count; j++)
            {
                var dependency = nodes[i].DependsOn[j];
                if (!first.ContainsKey(dependency))
                {
                    var known = string.Join(", ", first.Keys);
                    issues.Add(new StageGraphIssue(StageGraphIssueKind.UnknownDependency, i, j,
                        $"depends on unknown stage '{dependency}' (stages: {known})"));
                }
            }
        }
        issues.AddRange(FindCycles(nodes, first));
        return issues;
    }

    public IReadOnlyList<string> DependenciesOf(string stage) => _nodes[stage].DependsOn;

    /// <summary>Every stage <paramref name="stage"/> waits for, directly or through others.</summary>
    public IReadOnlySet<string> AncestorsOf(string stage)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>(_nodes[stage].DependsOn);
        while (pending.TryPop(out var next))
        {
            if (seen.Add(next))
            {
                foreach (var dependency in _nodes[next].DependsOn)
                {
                    pending.Push(dependency);
                }
            }
        }
        return seen;
    }

    /// <summary>Stages not yet started whose dependencies are all done, in <see cref="Order"/>.</summary>
    public IReadOnlyList<string> Ready(IReadOnlySet<string> done, IReadOnlySet<string> started) =>
        Order.Where(s => !started.Contains(s) && !done.Contains(s) && _nodes[s].DependsOn.All(done.Contains)).ToList();

    /// <summary>Stages that can never run because one of their ancestors failed.</summary>
    public IReadOnlySet<string> Blocked(IReadOnlySet<string> failed) =>
        Order.Where(s => AncestorsOf(s).Overlaps(failed)).ToHashSet(StringComparer.Ordinal);

    private static IReadOnlyList<string> TopologicalOrder(IReadOnlyList<StageNode> nodes)
    {
        // Kahn's algorithm, always taking the earliest-declared ready stage (stable tie-breaking).
        var order = new List<string>(nodes.Count);
        var placed = new HashSet<string>(StringComparer.Ordinal);
        while (order.Count < nodes.Count)
        {
            var next = nodes.First(n => !placed.Contains(n.Name) && n.DependsOn.All(placed.Contains));
            placed.Add(next.Name);
            order.Add(next.Name);
        }
        return order;
    }

    private static IEnumerable<StageGraphIssue> FindCycles(IReadOnlyList<StageNode> nodes, Dictionary<string, int> index)
    {
        var state = new int[nodes.Count]; // 0 unvisited, 1 on the DFS stack, 2 finished
        var stack = new List<int>();
        var reported = new HashSet<string>(StringComparer.Ordinal);
        var issues = new List<StageGraphIssue>();

        void Visit(int u)
        {
            state[u] = 1;
            stack.Add(u);
            for (var j = 0; j < nodes[u].DependsOn.Count; j++)
            {
                if (!index.TryGetValue(nodes[u].DependsOn[j], out var v))
                {
                    continue;
                }
                if (state[v] == 1)
                {
                    var cycle = stack.Skip(stack.IndexOf(v)).Select(k => nodes[k].Name).ToList();
                    if (reported.Add(string.Join(",", cycle.Order(StringComparer.Ordinal))))
                    {
                        var path = string.Join(" -> ", cycle.Append(nodes[v].Name));
                        issues.Add(new StageGraphIssue(StageGraphIssueKind.Cycle, u, j, $"dependency cycle: {path} (-> reads 'depends on')"));
                    }
                }
                else if (state[v] == 0)
                {
                    Visit(v);
                }
            }
            stack.RemoveAt(stack.Count - 1);
            state[u] = 2;
        }

        foreach (var i in index.Values.Order())
        {
            if (state[i] == 0)
            {
                Visit(i);
            }
        }
        return issues;
    }
}
