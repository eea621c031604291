import { ApplicationFailure } from 'chronicle/activity';

function book(kind: string, tripId: string, fail: boolean): string {
  if (fail) throw ApplicationFailure.nonRetryable(`no ${kind} available for ${tripId}`, 'SoldOut');
  return `${kind}:${tripId}`;
}

export async function bookFlight(tripId: string, fail: boolean): Promise<string> {
  return book('flight', tripId, fail);
}
export async function bookHotel(tripId: string, fail: boolean): Promise<string> {
  return book('hotel', tripId, fail);
}
export async function bookCar(tripId: string, fail: boolean): Promise<string> {
  return book('car', tripId, fail);
}
export async function cancelFlight(tripId: string): Promise<string> {
  return `flight cancelled: ${tripId}`;
}
export async function cancelHotel(tripId: string): Promise<string> {
  return `hotel cancelled: ${tripId}`;
}
export async function cancelCar(tripId: string): Promise<string> {
  return `car cancelled: ${tripId}`;
}
