using System.CommandLine;

namespace MmCluster.Cli.Commands;

/// <summary><c>mmcluster bench plan</c> (not implemented yet).</summary>
internal static class BenchPlanCommand
{
    public static Command Create()
    {
        var command = new Command("plan", "Not implemented yet.");
        command.SetAction(_ =>
        {
            Console.Error.WriteLine("mmcluster bench plan: not implemented yet");
            return 2;
        });
        return command;
    }
}
