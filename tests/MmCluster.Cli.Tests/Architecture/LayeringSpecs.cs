using System.Reflection;
using System.Text.RegularExpressions;
using MmCluster.Cli.Tests.K8s;
using Xunit;

namespace MmCluster.Cli.Tests.Architecture;

/// <summary>
/// The layering docs/architecture.md draws, checked on the built assemblies and on the sources: which assembly may
/// reference which, no namespace importing another in a circle, and the pure tier free of I/O.
/// </summary>
public sealed partial class LayeringSpecs
{
    [Theory]
    [InlineData("MmCluster.Collectives", "MmCluster.Worker")]
    [InlineData("MmCluster.Collectives", "MmCluster.Coordinator")]
    [InlineData("MmCluster.Collectives", "TorchSharp")]
    [InlineData("MmCluster.Coordinator", "TorchSharp")]
    [InlineData("MmCluster.Coordinator", "MmCluster.Worker")]
    [InlineData("MmCluster.Coordinator", "MmCluster.Collectives")]
    [InlineData("MmCluster.Shared", "MmCluster.Collectives")]
    [InlineData("MmCluster.Shared", "TorchSharp")]
    public void Should_not_reach_the_assembly_when_its_references_are_followed(string from, string forbidden)
    {
        var reached = Reachable(from);

        Assert.Contains(from, reached);
        Assert.DoesNotContain(forbidden, reached);
    }

    [Fact]
    public void Should_reach_collectives_and_torch_from_the_worker_when_its_references_are_followed()
    {
        // The positive control: the walk does find what is there.
        var reached = Reachable("MmCluster.Worker");

        Assert.Contains("MmCluster.Collectives", reached);
        Assert.Contains("TorchSharp", reached);
    }

    [Fact]
    public void Should_find_no_namespace_imports_in_a_circle_when_the_sources_are_read()
    {
        var cycles = Cycles(ImportGraph(RepoPaths.Of("src")));

        Assert.True(cycles.Count == 0, "namespaces that import each other in a circle: " +
            string.Join("; ", cycles.Select(c => string.Join(" -> ", c))));
    }

    [Fact]
    public void Should_find_the_circle_when_two_namespaces_import_each_other()
    {
        var graph = new Dictionary<string, HashSet<string>>
        {
            ["A"] = ["B"], ["B"] = ["C"], ["C"] = ["A"], ["D"] = ["A"],
        };

        var cycle = Assert.Single(Cycles(graph));
        Assert.Equal(["A", "B", "C"], cycle.Order());
    }

    [Fact]
    public void Should_keep_the_model_free_of_actors_rpc_and_files_when_its_sources_are_read()
    {
        var offending = Directory.EnumerateFiles(RepoPaths.Of("src", "Worker", "Model"), "*.cs", SearchOption.AllDirectories)
            .SelectMany(f => Usings(File.ReadAllText(f))
                .Where(u => u.StartsWith("Akka", StringComparison.Ordinal) || u.StartsWith("Grpc", StringComparison.Ordinal)
                    || u.StartsWith("Parquet", StringComparison.Ordinal) || u == "System.IO"
                    || u.StartsWith("MmCluster.Collectives", StringComparison.Ordinal) || u.StartsWith("MmCluster.Worker.Distributed", StringComparison.Ordinal))
                .Select(u => $"{Path.GetRelativePath(RepoPaths.Root, f)}: using {u}"))
            .ToList();

        Assert.Empty(offending);
    }

    private static HashSet<string> Reachable(string root)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<AssemblyName>([new AssemblyName(root)]);
        while (pending.TryPop(out var name))
        {
            if (name.Name is null || !seen.Add(name.Name))
            {
                continue;
            }
            Assembly assembly;
            try
            {
                assembly = Assembly.Load(name);
            }
            catch (FileNotFoundException)
            {
                continue; // a framework facade or native-only package; its name is recorded
            }
            foreach (var reference in assembly.GetReferencedAssemblies())
            {
                pending.Push(reference);
            }
        }
        return seen;
    }

    /// <summary>Namespace -> the MmCluster namespaces its files import (their own excluded).</summary>
    private static Dictionary<string, HashSet<string>> ImportGraph(string folder)
    {
        var graph = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(folder, "*.cs", SearchOption.AllDirectories))
        {
            if (file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                || file.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            {
                continue;
            }
            var text = File.ReadAllText(file);
            if (NamespacePattern().Match(text) is not { Success: true } ns)
            {
                continue;
            }
            var own = ns.Groups[1].Value;
            var imports = graph.TryGetValue(own, out var existing) ? existing : graph[own] = [];
            foreach (var used in Usings(text).Where(u => u.StartsWith("MmCluster.", StringComparison.Ordinal) && u != own))
            {
                imports.Add(used);
            }
        }
        return graph;
    }

    private static IEnumerable<string> Usings(string text) =>
        UsingPattern().Matches(text).Select(m => m.Groups[1].Value);

    /// <summary>Strongly connected components of more than one namespace (Tarjan).</summary>
    private static List<string[]> Cycles(Dictionary<string, HashSet<string>> graph)
    {
        var index = new Dictionary<string, int>();
        var low = new Dictionary<string, int>();
        var stack = new Stack<string>();
        var onStack = new HashSet<string>();
        var cycles = new List<string[]>();

        void Visit(string v)
        {
            index[v] = low[v] = index.Count;
            stack.Push(v);
            onStack.Add(v);
            foreach (var w in graph.GetValueOrDefault(v) ?? [])
            {
                if (!graph.ContainsKey(w))
                {
                    continue;
                }
                if (!index.ContainsKey(w))
                {
                    Visit(w);
                    low[v] = Math.Min(low[v], low[w]);
                }
                else if (onStack.Contains(w))
                {
                    low[v] = Math.Min(low[v], index[w]);
                }
            }
            if (low[v] == index[v])
            {
                var component = new List<string>();
                string w;
                do
                {
                    w = stack.Pop();
                    onStack.Remove(w);
                    component.Add(w);
                }
                while (w != v);
                if (component.Count > 1)
                {
                    cycles.Add([.. component]);
                }
            }
        }

        foreach (var v in graph.Keys.Where(v => !index.ContainsKey(v)).ToList())
        {
            Visit(v);
        }
        return cycles;
    }

    [GeneratedRegex(@"^namespace\s+([\w.]+)\s*;", RegexOptions.Multiline)]
    private static partial Regex NamespacePattern();

    [GeneratedRegex(@"^using\s+(?:static\s+)?([\w.]+)\s*;", RegexOptions.Multiline)]
    private static partial Regex UsingPattern();
}
