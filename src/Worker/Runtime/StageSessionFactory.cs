using MmCluster.Collectives.Ring;
using MmCluster.Worker.Actors;

namespace MmCluster.Worker.Runtime;

/// <summary>
/// Makes the trainer of one stage: the worker's collective server (its token and transport are the stage's collective group's), a log
/// line writer, and <paramref name="fail"/>, which the session calls with any error that must end this worker.
/// </summary>
public delegate ITrainingSession StageSessionFactory(CollectiveServer server, Action<string> log, Action<Exception> fail);
