namespace MmCluster.Worker;

/// <summary>
/// This project is the worker's library (models, trainer, collectives, agent actor); the worker process is started by the
/// CLI (<c>mmcluster worker</c>, src/Cli), which also hosts the other roles. Running this assembly directly points there.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        Console.Error.WriteLine("MmCluster.Worker is started through the CLI: `./mmcluster worker --coordinator akka.tcp://mmcluster@HOST:4053` (see README).");
        return 2;
    }
}
