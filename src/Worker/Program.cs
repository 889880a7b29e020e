namespace MmCluster.Worker;

public static class Program
{
    public static int Main(string[] args)
    {
        Console.Error.WriteLine("mmcluster worker: not wired yet");
        return 2;
    }
}
