using System.CommandLine;

namespace MmCluster.Cli.Commands;

/// <summary><c>mmcluster bench collectives</c> (not implemented yet).</summary>
internal static class BenchCollectivesCommand
{
    public static Command Create()
    {
        var command = new Command("collectives", "Not implemented yet.");
        command.SetAction(_ =>
        {
            Console.Error.WriteLine("mmcluster bench collectives: not implemented yet");
            return 2;
        });
        return command;
    }
}
