using System.CommandLine;
using MmCluster.Cli.Commands;

namespace MmCluster.Cli;

/// <summary>The user's entry point: <c>mmcluster dev | watch | dashboard | manifest | bench | caption | ask | tokenize | model | embed | k8s</c>.</summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var root = new RootCommand("MmCluster: distributed training of vision-language models (CLIP, BLIP-2) on Akka.NET + TorchSharp.");
        root.Add(ManifestCommand.Create());
        var bench = new Command("bench", "Benchmarks: planning, collectives, training step, captions, coordinator, tokenizers, photo input.");
        bench.Add(BenchPlanCommand.Create());
        bench.Add(BenchCollectivesCommand.Create());
        bench.Add(BenchStepCommand.Create());
        bench.Add(BenchCaptionCommand.Create());
        bench.Add(BenchCoordinatorCommand.Create());
        bench.Add(BenchTokenizeCommand.Create());
        bench.Add(BenchInputCommand.Create());
        root.Add(bench);
        root.Add(WatchCommand.Create());
        root.Add(DashboardCommand.Create());
        root.Add(K8sCommand.Create());
        root.Add(CaptionCommand.Create());
        root.Add(AskCommand.Create());
        root.Add(TokenizeCommand.Create());
        root.Add(ModelCommand.Create());
        root.Add(EmbedCommand.Create());
        foreach (var command in RunCommands.Create())
        {
            root.Add(command);
        }
        return await root.Parse(args).InvokeAsync();
    }
}
